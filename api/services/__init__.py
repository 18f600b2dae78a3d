"""Domain rules, free of GraphQL and HTTP: plain functions with keyword-only arguments."""
