"""The GraphQL schema: thin Strawberry types and resolvers over ``archive`` and ``index``
(``schema.root.build_schema``). Importing the package loads none of it, so the command line
can read ``schema.choices`` and ``schema.limits`` without Strawberry."""
