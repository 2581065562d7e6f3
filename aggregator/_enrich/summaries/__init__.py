"""Summaries: a TL;DR and Background / Innovation / Conclusion for each entry.

Owns the two providers (``extractive``: sentences of the entry's own abstract, offline
and pure; ``openai-compatible``: a chat-completions server asked for structured JSON),
the cache key of a summary (content hash, provider, model, language, prompt version)
and the enricher that fills the cache within the run's budget. Never renders a digest
or a feed (``_output`` asks :func:`summary_for` what to show) and never fails a run:
a slow, failing or rate-limited server costs at most ``[summaries] max_seconds`` and
leaves the extractive text in place.
"""

from __future__ import annotations

from .enricher import Summariser, SummaryReport, summary_for, variant_of
from .extractive import summarise as extractive_summary

__all__ = ["Summariser", "SummaryReport", "extractive_summary", "summary_for", "variant_of"]
