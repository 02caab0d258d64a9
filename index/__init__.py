"""The full-text index (Whoosh) and Japanese analysis. It may use ``archive``, nothing above."""
