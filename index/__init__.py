"""The full-text index (numpy segments) and Japanese analysis. It may use ``archive`` only."""
