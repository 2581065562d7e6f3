"""Enrichers: work done on stored entries before anything is published (summaries).

Owns writing each entry's TL;DR and sections (``summaries``). Never sends, never
publishes, never renders.
"""
