"""Everything arXiv: its feeds, listing page and export API, its calendar, and backfill.

The parsers are pure (bytes in, papers out); ``api`` asks the export API through the
fetch stage; ``calendar`` knows the announcement days; ``backfill`` stores past listings.
"""
