"""Alembic migrations of the relational store, from the first table on."""
