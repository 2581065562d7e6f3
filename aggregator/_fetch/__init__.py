"""Fetching: a source's bytes and what is known about asking for them.

Owns HTTP (conditional GET, limits, politeness, deadlines), reading local files, charset
decoding and entity checks, knowing a document is unchanged before parsing, and the
source health policy (when to ask again). Never parses a document or writes the
database.
"""
