"""Near-duplicates: the same article republished with clutter, or the same work elsewhere.

Owns text fingerprints (MinHash, LSH bands), the match rules (pure) and the linking
stage that applies them to newly stored entries. Never fetches or publishes.
"""
