"""Scoped queries: every entry point takes the principal and filters in SQL."""
