"""Output: the Atom feeds, the index page and the digests, and the one file writer.

Owns choosing and rendering a day's digest, writing feeds incrementally, and tidying
the output folder after a crash or a prune. Never speaks SQL itself beyond the store's
named queries, and never sends mail.
"""
