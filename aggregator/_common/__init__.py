"""Small helpers every stage may use: safe strings, wording, bundled files, test pauses,
the full-text index's text rules.

Pure (``safety``, ``wording``, ``fts``: shared by the parsing workers, which make the
index text, and the store, which indexes and searches it) or reading only the package's own files
(``resources``); ``faults`` pauses a process at a named point for the crash tests.
"""
