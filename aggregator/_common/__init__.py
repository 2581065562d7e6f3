"""Small helpers every stage may use: safe strings, wording, bundled files, test pauses.

Pure (``safety``, ``wording``) or reading only the package's own files
(``resources``); ``faults`` pauses a process at a named point for the crash tests.
"""
