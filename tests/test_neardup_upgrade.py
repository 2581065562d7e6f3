"""An upgrade that changes how signatures are computed (a new ``Scheme.name``): a
database holding the old scheme's signatures and band keys still finds duplicates,
because a run first recomputes the features of the entries of the window.

End to end, as in tests/test_duplicates.py (whose feeds and helpers it reuses): real
feeds on disk, a real SQLite file, the published feed read back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from test_duplicates import CLUTTERED, STORY, Item, do_run, published, rewrite, setup

from aggregator._neardup.minhash import Scheme
from aggregator._storage.sqlite import Store

#: The scheme before signatures were computed by rensa (CRC-32 token hashes).
OLD_SCHEME = "minhash3:k3:128x32:s1"


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_signatures_of_an_older_scheme_are_recomputed_and_still_match(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    original = Item(
        "Grid operator approves battery project",
        STORY,
        "o-1",
        link="https://news.example.org/battery",
    )
    settings = setup(tmp_path, {"original": [original], "farm": []})
    do_run(settings, clock)
    new_scheme = Scheme().name
    with Store(settings.storage.database) as store, store.transaction():
        # As an older version left them: another scheme's signature and band keys.
        store.db.execute(
            "UPDATE entry_signatures SET scheme = ?, signature = zeroblob(512)", [OLD_SCHEME]
        )
        store.db.execute("UPDATE lsh_bands SET band = band + 7919")
        assert store.keys_needing_features(new_scheme, since=None) == [
            "url:https://news.example.org/battery"
        ]
    copy = Item(
        "Battery project approved - TrendWire", CLUTTERED, "f-1", link="https://farm.example.net/1"
    )
    rewrite(tmp_path, "farm", [copy])
    do_run(settings, clock)
    assert [e.title for e in published(settings)] == ["Grid operator approves battery project"]
    with Store(settings.storage.database) as store:
        [link] = store.duplicate_links()
        assert (link.entry_key, link.reason) == ("url:https://farm.example.net/1", "near")
        schemes = store.db.execute("SELECT DISTINCT scheme FROM entry_signatures").fetchall()
        assert schemes == [(new_scheme,)]
