"""The full-text index (Whoosh) and Japanese text analysis. It may use ``archive``, nothing above."""
