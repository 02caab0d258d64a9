"""The Starlette app and the command line: the only layer that knows HTTP, CLI and environment."""
