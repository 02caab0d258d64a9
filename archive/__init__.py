"""Reading plan documents and keeping them: decoding, parsing, the relational store.

This package imports nothing else of plan-archive; every other layer builds on it.
"""
