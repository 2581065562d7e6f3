"""The database schema: versioned migrations, applied in order and recorded.

Each feature that needs tables appends one migration with the next version number;
a migration never changes after it has shipped.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from ..._common.urls import canonical_url
from .rekey import rekey_url_entries
from .search_index import fill_search_index

Migration = Callable[[sqlite_utils.Database], None]


def _m1_initial(db: sqlite_utils.Database) -> None:
    _m1_entries(db)
    _m1_entry_categories(db)
    _m1_entry_sources(db)
    _m1_sources(db)
    _m1_runs(db)


def _m1_entries(db: sqlite_utils.Database) -> None:
    # One row per identity key: the entry as last stored, and the day it is digested on.
    db.execute(
        """
        CREATE TABLE entries (
            key TEXT PRIMARY KEY,
            atom_id TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            link TEXT,
            published TEXT,
            updated TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            digest_day TEXT NOT NULL,
            authors TEXT NOT NULL DEFAULT '[]',
            summary TEXT,
            content TEXT,
            sections TEXT NOT NULL DEFAULT '[]',
            pdf_url TEXT,
            arxiv_id TEXT,
            doi TEXT,
            language TEXT,
            content_hash TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("CREATE INDEX entries_digest_day ON entries (digest_day)")
    db.execute("CREATE INDEX entries_updated ON entries (updated)")


def _m1_entry_categories(db: sqlite_utils.Database) -> None:
    # The categories an entry is filed under, per source, and how it got there.
    db.execute(
        """
        CREATE TABLE entry_categories (
            entry_key TEXT NOT NULL REFERENCES entries (key) ON DELETE CASCADE,
            category TEXT NOT NULL,
            source TEXT NOT NULL,
            how TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (entry_key, category, source)
        )"""
    )
    db.execute("CREATE INDEX entry_categories_category ON entry_categories (category)")


def _m1_entry_sources(db: sqlite_utils.Database) -> None:
    # Which sources delivered an entry, and the content hash each last delivered.
    db.execute(
        """
        CREATE TABLE entry_sources (
            entry_key TEXT NOT NULL REFERENCES entries (key) ON DELETE CASCADE,
            source TEXT NOT NULL,
            guid TEXT,
            content_hash TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (entry_key, source)
        )"""
    )


def _m1_sources(db: sqlite_utils.Database) -> None:
    # Each configured source's last attempt, success and error.
    db.execute(
        """
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            location TEXT NOT NULL,
            last_attempt TEXT,
            last_success TEXT,
            last_error TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            last_new_entries TEXT
        )"""
    )


def _m1_runs(db: sqlite_utils.Database) -> None:
    # The run record: one row per run, with its status and summary.
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            run_date TEXT NOT NULL,
            status TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '{}'
        )"""
    )


def _m2_fetch_state(db: sqlite_utils.Database) -> None:
    # HTTP state per source, kept apart from ``sources`` (which every kind of source
    # has). ``url`` is the configured URL the state belongs to: when the config names
    # another URL, the state is stale and is ignored (which also re-enables a 410).
    db.execute(
        """
        CREATE TABLE source_fetch (
            name TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            effective_url TEXT,
            etag TEXT,
            last_modified TEXT,
            last_status INTEGER,
            next_attempt TEXT,
            next_reason TEXT,
            disabled_reason TEXT
        )"""
    )
    db.execute("CREATE INDEX entry_sources_source ON entry_sources (source, first_seen)")


def _m3_arxiv(db: sqlite_utils.Database) -> None:
    """arXiv: versions, categories and raw LaTeX per entry; announcements per day; batches."""
    for column in (
        "version INTEGER",
        "primary_category TEXT",
        "subjects TEXT NOT NULL DEFAULT '[]'",
        "journal_ref TEXT",
        "raw_title TEXT",
        "raw_summary TEXT",
    ):
        db.execute(f"ALTER TABLE entries ADD COLUMN {column}")
    # How a paper was announced in a category on a day (new, cross, replace, replace-cross):
    # the digest of that day lists it under New submissions, Cross-lists or Replacements.
    db.execute(
        """
        CREATE TABLE arxiv_announcements (
            entry_key TEXT NOT NULL REFERENCES entries (key) ON DELETE CASCADE,
            category TEXT NOT NULL,
            day TEXT NOT NULL,
            how TEXT NOT NULL,
            version INTEGER,
            source TEXT NOT NULL,
            PRIMARY KEY (entry_key, category, day)
        )"""
    )
    db.execute("CREATE INDEX arxiv_announcements_day ON arxiv_announcements (day)")
    # Which announcement day's batch each arXiv source has read, to tell a feed that has
    # not refreshed yet from a new batch.
    db.execute(
        """
        CREATE TABLE arxiv_batches (
            source TEXT NOT NULL,
            day TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            entries INTEGER NOT NULL,
            PRIMARY KEY (source, day)
        )"""
    )


def _m4_deliveries(db: sqlite_utils.Database) -> None:
    # One row per (digest day, subscriber): the delivery log that makes sending
    # exactly-once. See store/deliveries.py for the states.
    db.execute(
        """
        CREATE TABLE deliveries (
            day TEXT NOT NULL,
            subscriber TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            entries INTEGER NOT NULL DEFAULT 0,
            message_id TEXT,
            smtp_code INTEGER,
            smtp_reply TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            sent_at TEXT,
            PRIMARY KEY (day, subscriber)
        )"""
    )
    db.execute("CREATE INDEX deliveries_updated ON deliveries (updated_at)")


def _m5_retention(db: sqlite_utils.Database) -> None:
    # Tombstones of pruned entries: what each source last delivered, so that an old
    # item still listed by a source is not stored again as new (see store/retention.py).
    db.execute(
        """
        CREATE TABLE pruned_entries (
            entry_key TEXT NOT NULL,
            source TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            pruned_at TEXT NOT NULL,
            PRIMARY KEY (entry_key, source)
        )"""
    )
    db.execute("CREATE INDEX pruned_entries_pruned_at ON pruned_entries (pruned_at)")


def _m6_duplicates(db: sqlite_utils.Database) -> None:
    """Near-duplicate detection: signatures, LSH band keys, work keys, links, splits."""
    db.execute(
        """
        CREATE TABLE entry_signatures (
            id INTEGER PRIMARY KEY,
            entry_key TEXT NOT NULL UNIQUE REFERENCES entries (key) ON DELETE CASCADE,
            scheme TEXT NOT NULL,
            signature BLOB,
            shingles INTEGER NOT NULL DEFAULT 0,
            seen TEXT NOT NULL
        )"""
    )
    # One row per (band key, entry): finding candidates is one index seek per band.
    db.execute(
        """
        CREATE TABLE lsh_bands (
            band INTEGER NOT NULL,
            sig_id INTEGER NOT NULL,
            PRIMARY KEY (band, sig_id)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX lsh_bands_sig ON lsh_bands (sig_id)")
    db.execute(
        "CREATE TRIGGER entry_signatures_delete AFTER DELETE ON entry_signatures"
        " BEGIN DELETE FROM lsh_bands WHERE sig_id = OLD.id; END"
    )
    db.execute(
        """
        CREATE TABLE entry_work_keys (
            work_key TEXT NOT NULL,
            entry_key TEXT NOT NULL REFERENCES entries (key) ON DELETE CASCADE,
            PRIMARY KEY (work_key, entry_key)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX entry_work_keys_entry ON entry_work_keys (entry_key)")
    db.execute(
        """
        CREATE TABLE duplicates (
            id INTEGER PRIMARY KEY,
            entry_key TEXT NOT NULL UNIQUE REFERENCES entries (key) ON DELETE CASCADE,
            kept_key TEXT NOT NULL REFERENCES entries (key) ON DELETE CASCADE,
            reason TEXT NOT NULL,
            similarity REAL,
            linked_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX duplicates_kept ON duplicates (kept_key)")
    db.execute(
        """
        CREATE TABLE duplicate_splits (
            entry_key TEXT NOT NULL,
            other_key TEXT NOT NULL,
            split_at TEXT NOT NULL,
            PRIMARY KEY (entry_key, other_key)
        ) WITHOUT ROWID"""
    )


def _m7_source_documents(db: sqlite_utils.Database) -> None:
    # One row per source: the fingerprint of the last document whose entries were
    # stored, so that an identical document is not parsed again (aggregator._fetch.unchanged).
    db.execute(
        """
        CREATE TABLE source_documents (
            source TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            entries INTEGER NOT NULL,
            stored_at TEXT NOT NULL
        )"""
    )


def _m8_document_batches(db: sqlite_utils.Database) -> None:
    # The arXiv announcement day and size of a source's last document, so that an
    # unchanged arXiv feed is judged ("not refreshed yet") without parsing it again.
    db.execute("ALTER TABLE source_documents ADD COLUMN batch_day TEXT")
    db.execute("ALTER TABLE source_documents ADD COLUMN batch_items INTEGER")


def _m9_output_generation(db: sqlite_utils.Database) -> None:
    # A counter that every change to what feeds and the index show moves (triggers, so
    # that no write path can forget it: ingest, pruning, dupes split and reindex alike),
    # and what was last published for each output file: the fingerprint of its inputs
    # (the generation, the settings that shape it, the code version) and the file's size
    # and mtime as written. A rerun with nothing changed then rebuilds nothing.
    db.execute(
        "CREATE TABLE output_generation ("
        " id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL)"
    )
    db.execute("INSERT INTO output_generation VALUES (1, 0)")
    # The tables whose rows shape the published feeds and index page (see published.py):
    # any insert, update or delete in them, cascades included, moves the generation.
    # Written out here, as they were when this migration shipped: a migration never
    # changes, so a table that comes to shape the output later gets its triggers from
    # a migration of its own.
    for table in ("entries", "entry_categories", "duplicates", "arxiv_announcements"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            db.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_generation AFTER {event} ON {table}"
                " BEGIN UPDATE output_generation SET generation = generation + 1"
                " WHERE id = 1; END"
            )
    # Feeds want the newest entries, ties broken by key: one index walk, no sort (the
    # old index on updated alone served the same range queries).
    db.execute("DROP INDEX entries_updated")
    db.execute("CREATE INDEX entries_updated_key ON entries (updated DESC, key)")
    db.execute(
        """
        CREATE TABLE published_files (
            path TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL
        )"""
    )


def _m10_digests_due(db: sqlite_utils.Database) -> None:
    # The days whose digest must be rendered again: marked in the transaction that
    # stores the entries changing them, cleared in the one that records the digest's
    # files as written. A run that stores entries and then fails to write the digest
    # (a full disk, a read-only folder) leaves the day here for the next run to do.
    db.execute("CREATE TABLE digests_due (day TEXT PRIMARY KEY, since TEXT NOT NULL)")


def _m11_unused_indexes(db: sqlite_utils.Database) -> None:
    # Indexes no query uses (EXPLAIN QUERY PLAN over every statement the test suite
    # and a benchmark run execute), which every write pays for. deliveries_updated:
    # the one query ordering by updated_at sorts by (updated_at, day) and scans the
    # small table anyway.
    db.execute("DROP INDEX IF EXISTS deliveries_updated")


def _m12_recent_bands(db: sqlite_utils.Database) -> None:
    # New entries' band keys go to a small table first and are merged into lsh_bands
    # in key order once it holds enough (see DuplicateQueries): a batch of random keys
    # written straight into a table of millions touches nearly every page of it, and
    # every page touched is written again at each commit.
    db.execute(
        """
        CREATE TABLE lsh_bands_recent (
            band INTEGER NOT NULL,
            sig_id INTEGER NOT NULL,
            PRIMARY KEY (band, sig_id)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX lsh_bands_recent_sig ON lsh_bands_recent (sig_id)")
    db.execute(
        "CREATE TRIGGER entry_signatures_delete_recent AFTER DELETE ON entry_signatures"
        " BEGIN DELETE FROM lsh_bands_recent WHERE sig_id = OLD.id; END"
    )


def _m13_raw_authors(db: sqlite_utils.Database) -> None:
    # arXiv author names as delivered (a JSON list, like authors), when their TeX accents
    # were turned into Unicode; NULL otherwise. Rows stored before keep their names as
    # they were delivered until the paper comes again.
    db.execute("ALTER TABLE entries ADD COLUMN raw_authors TEXT")


def _m15_search(db: sqlite_utils.Database) -> None:
    """Full-text search (see search.py): the text of every entry, its FTS5 index, and
    the keys of entries stored or changed since they were last indexed."""
    db.execute(
        """
        CREATE TABLE search_text (
            id INTEGER PRIMARY KEY,
            entry_key TEXT NOT NULL UNIQUE REFERENCES entries (key) ON DELETE CASCADE,
            title TEXT NOT NULL,
            abstract TEXT NOT NULL,
            authors TEXT NOT NULL,
            content TEXT NOT NULL
        )"""
    )
    # sqlite-utils makes the FTS5 table over search_text (external content: the text is
    # stored once). Words: Unicode letters and digits, accents ignored, English stemmed
    # (fts.TOKENIZER). Rows are indexed in bulk (search_index.py), one statement per few
    # hundred rows, not by an insert trigger per row: measured on 20,000 entries, 1.4 s
    # against 1.8 s of CPU. Deleting a row (an entry pruned or indexed again) takes
    # its words out of the index.
    db.table("search_text").enable_fts(
        ["title", "abstract", "authors", "content"],
        tokenize="porter unicode61 remove_diacritics 2",
    )
    db.execute(
        "CREATE TRIGGER search_text_delete AFTER DELETE ON search_text BEGIN"
        " INSERT INTO search_text_fts (search_text_fts, rowid, title, abstract, authors,"
        " content) VALUES ('delete', OLD.id, OLD.title, OLD.abstract, OLD.authors,"
        " OLD.content); END"
    )
    # A run notes what to index here, one small row per entry it stores; the text is
    # indexed in bulk afterwards (search.fill_search_index), not in the storing
    # transaction. No foreign key: a noted entry pruned meanwhile is simply skipped.
    db.execute("CREATE TABLE search_pending (entry_key TEXT PRIMARY KEY) WITHOUT ROWID")
    # (Not INSERT OR IGNORE: the statement firing a trigger imposes its own conflict
    # resolution, and entries are written with INSERT OR FAIL.)
    note = (
        " BEGIN INSERT INTO search_pending SELECT NEW.key WHERE NOT EXISTS"
        " (SELECT 1 FROM search_pending WHERE entry_key = NEW.key); END"
    )
    db.execute(f"CREATE TRIGGER entries_insert_search AFTER INSERT ON entries{note}")
    db.execute(
        "CREATE TRIGGER entries_update_search AFTER UPDATE OF title, summary, sections,"
        " authors, content ON entries WHEN OLD.title IS NOT NEW.title"
        " OR OLD.summary IS NOT NEW.summary OR OLD.sections IS NOT NEW.sections"
        f" OR OLD.authors IS NOT NEW.authors OR OLD.content IS NOT NEW.content{note}"
    )
    # What is stored already is indexed now, in bulk (with the text rules of the code
    # that migrates: they shape the rows, not the schema).
    db.execute("INSERT INTO search_pending SELECT key FROM entries")
    fill_search_index(db.conn)


def _m16_ranking(db: sqlite_utils.Database) -> None:
    # Relevance scores per entry and reader profile (a hash of the profile and of the
    # liked papers found), with the model that computed them: a rerun finds them here
    # and fits nothing. nearest: the liked paper most like the entry (its reason).
    # Scores shape no shared feed, so they move no output generation.
    db.execute(
        """
        CREATE TABLE entry_scores (
            entry_key TEXT NOT NULL REFERENCES entries (key) ON DELETE CASCADE,
            profile TEXT NOT NULL,
            model TEXT NOT NULL,
            score REAL NOT NULL,
            nearest TEXT,
            PRIMARY KEY (profile, model, entry_key)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX entry_scores_entry ON entry_scores (entry_key)")
    # Secrets this installation generates once and keeps (the key of personal feed
    # tokens): never in the config file, never published.
    db.execute("CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _m19_summaries(db: sqlite_utils.Database) -> None:
    # What summarisers wrote, by the entry's content hash and the variant (provider,
    # model, language, prompt version): one summary per text, however many entries,
    # categories and runs show it. The outputs show them, so a change moves the output
    # generation like the tables of migration 9.
    db.execute(
        """
        CREATE TABLE summaries (
            content_hash TEXT NOT NULL,
            variant TEXT NOT NULL,
            data TEXT NOT NULL,
            created TEXT NOT NULL,
            PRIMARY KEY (content_hash, variant)
        ) WITHOUT ROWID"""
    )
    for event in ("INSERT", "UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER summaries_{event.lower()}_generation AFTER {event} ON summaries"
            " BEGIN UPDATE output_generation SET generation = generation + 1 WHERE id = 1; END"
        )


def _m21_queue(db: sqlite_utils.Database) -> None:
    # The job queue's tables (results of fetch jobs, per-host turns). Only PostgreSQL
    # uses them: a queue needs a server that several machines reach ([queue] enabled
    # with SQLite is a config error); made here too so both backends hold the same tables.
    db.execute(
        """
        CREATE TABLE queue_results (
            run TEXT NOT NULL,
            source TEXT NOT NULL,
            finished TEXT NOT NULL,
            worker TEXT NOT NULL,
            payload BLOB NOT NULL,
            PRIMARY KEY (run, source)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE TABLE queue_hosts (host TEXT PRIMARY KEY, next_start TEXT NOT NULL)")


def _m17_unsubscribes(db: sqlite_utils.Database) -> None:
    # Who asked to stop receiving the digest, when and how (one-click POST, a mail to
    # the unsubscribe address, the CLI): the config lists subscribers, the database
    # remembers who left, and every send skips them. One row per address (folded to
    # lower case), so asking twice keeps the first time.
    db.execute(
        """
        CREATE TABLE unsubscribes (
            address TEXT PRIMARY KEY,
            unsubscribed_at TEXT NOT NULL,
            via TEXT NOT NULL,
            detail TEXT
        )"""
    )
    # The key that signs unsubscribe links, when the config names none, is one of the
    # installation's secrets (the secrets table of migration 16).


def _m18_canonical_urls(db: sqlite_utils.Database) -> None:
    # URL keys made again with the rules of issue 21 (IPv6 hosts, dot segments,
    # unreserved escapes, IDN hosts as punycode); rows whose keys became one are
    # merged, keeping every filing, link and announcement (see rekey.py). A later
    # change to canonical_url needs a migration of its own.
    rekey_url_entries(db, canonical_url)


def _m20_search_config(db: sqlite_utils.Database) -> None:
    # PostgreSQL's search configuration (stems and accents as fts.TOKENIZER does them
    # here): nothing to change in SQLite, whose tokenizer has done so since 15.
    del db


def _m22_article_fetches(db: sqlite_utils.Database) -> None:
    # fetch_full_text: the articles not had yet, one row per entry, with their tries and
    # when to try again (rules in _update/article_state.py). A row goes when its article
    # is had, or with its entry. Not an input of the outputs: no generation triggers.
    db.execute(
        """
        CREATE TABLE article_fetches (
            entry_key TEXT PRIMARY KEY REFERENCES entries (key) ON DELETE CASCADE,
            source TEXT NOT NULL,
            link TEXT NOT NULL,
            tries INTEGER NOT NULL,
            state TEXT NOT NULL,
            next_attempt TEXT,
            last_error TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX article_fetches_source ON article_fetches (source, state)")


def _m23_band_keys_by_signature(db: sqlite_utils.Database) -> None:
    # The band-key tables keep only their primary key (band, sig_id), which finding
    # candidates uses: an entry's keys are deleted through it, made again from its
    # stored signature (see bandkeys.py), not through an index by sig_id that every
    # one of the 32 rows per entry paid for (and the triggers that used it; the code
    # deleting signatures deletes their keys). Keys of signatures of older schemes,
    # which cannot be made again, go now: no key made now can equal them.
    for table in ("lsh_bands", "lsh_bands_recent"):
        db.execute(
            f"DELETE FROM {table} WHERE sig_id IN"
            " (SELECT id FROM entry_signatures WHERE scheme NOT LIKE 'minhash4:%')"
        )
    db.execute("DROP TRIGGER entry_signatures_delete")
    db.execute("DROP TRIGGER entry_signatures_delete_recent")
    db.execute("DROP INDEX lsh_bands_sig")
    db.execute("DROP INDEX lsh_bands_recent_sig")


#: Versioned migrations, applied in order, each in its own transaction and recorded.
MIGRATIONS: tuple[tuple[int, str, Migration], ...] = (
    (1, "initial schema", _m1_initial),
    (2, "HTTP fetch state per source", _m2_fetch_state),
    (3, "arxiv versions, announcements and batches", _m3_arxiv),
    (4, "delivery log", _m4_deliveries),
    (5, "tombstones of pruned entries", _m5_retention),
    (6, "duplicates beyond identity keys", _m6_duplicates),
    (7, "fingerprints of sources' last documents", _m7_source_documents),
    (8, "arXiv batch of sources' last documents", _m8_document_batches),
    (9, "output generation, published files, feed order index", _m9_output_generation),
    (10, "digest days to render again", _m10_digests_due),
    (11, "drop indexes no query uses", _m11_unused_indexes),
    (12, "recent band keys, merged into lsh_bands in bulk", _m12_recent_bands),
    (13, "arXiv author names as delivered", _m13_raw_authors),
    (15, "full-text search index", _m15_search),
    (16, "relevance scores per entry and profile, installation secrets", _m16_ranking),
    (17, "unsubscribes", _m17_unsubscribes),
    (18, "URL keys made again, entries they unite merged", _m18_canonical_urls),
    (19, "summaries by content hash and variant", _m19_summaries),
    (20, "search: stems and accents as SQLite's tokenizer", _m20_search_config),
    (21, "job queue results and per-host turns", _m21_queue),
    (22, "article fetches to try again", _m22_article_fetches),
    (
        23,
        "band keys deleted through their primary key, not an index by signature",
        _m23_band_keys_by_signature,
    ),
)
