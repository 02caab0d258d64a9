"""The GraphQL schema: thin Strawberry types and resolvers over ``archive`` and ``index``."""

from schema.root import build_schema

__all__ = ["build_schema"]
