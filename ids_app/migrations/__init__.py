"""Alembic migrations, and the start-up check that brings a database to this version."""
