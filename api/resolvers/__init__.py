"""Thin resolvers: arguments -> scoped query -> types."""
