"""The full-text index (Whoosh, written in bulk) and Japanese analysis; it uses only ``archive``."""
