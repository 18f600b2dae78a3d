"""Persistence: SQLAlchemy models, sessions, scoped queries, migrations and demo data."""
