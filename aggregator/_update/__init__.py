"""The update stage: from parsed documents to what the database must hold.

Owns normalisation (canonical URLs, identity keys, sanitised HTML, readable maths), the
new / updated / unchanged / duplicate decision (``decide``), the plan of what a document
changes in storage (``plan``), reading documents on every core (``reading``), and the
loops that take documents to storage: ``ingest`` for a run's sources, ``backfill`` for
past arXiv listings. Deciding and planning are pure functions; ``ingest`` and
``backfill`` are the modules here that call the fetch stage and storage.
"""
