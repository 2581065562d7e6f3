"""Enrichers: work done on stored entries before anything is published (ranking,
summaries).

Owns ranking each reader's entries: reading their liked papers (``likes``), matching
followed authors and keywords and ordering a digest's entries (``order``, pure),
learning from the liked papers (``model``: scikit-learn, imported only when a model is
fitted) and caching the scores per entry and profile (``ranker``); and writing each
entry's TL;DR and sections (``summaries``: offline or by a chat-completions server,
cached by content). Never sends, never publishes, never renders.
"""
