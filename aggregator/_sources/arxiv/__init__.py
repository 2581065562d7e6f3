"""Everything arXiv reads: its feeds, listing page and export API, and its calendar.

The parsers are pure (bytes in, papers out); ``api`` asks the export API through the
fetch stage; ``calendar`` knows the announcement days; ``announce`` how a paper was
announced per category. Storing past listings (backfill) is the update stage's
(``aggregator._update.backfill``), called by the facade.
"""
