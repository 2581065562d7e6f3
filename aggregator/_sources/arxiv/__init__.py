"""Everything arXiv: its feeds, listing page and export API, its calendar, and backfill.

The parsers are pure (bytes in, papers out); ``api`` asks the export API through the
fetch stage; ``calendar`` knows the announcement days; ``backfill`` is the CLI's way to
store past listings (through ``aggregator._update.backfill``) until the facade's.
"""
