"""The update stage: from parsed documents to what the database must hold.

Owns normalisation (canonical URLs, identity keys, sanitised HTML, readable maths), the
new / updated / unchanged / duplicate decision, reading documents on every core, and
ingest, the loop that takes each source's document to the store. The decisions are pure
functions; ``ingest`` is the one module here that calls the fetch stage and the store.
"""
