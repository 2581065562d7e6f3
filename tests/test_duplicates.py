"""Duplicates beyond identity keys, end to end: real feeds on disk, a real SQLite file,
published feeds read back with feedparser and checked with atomcheck."""

from __future__ import annotations

import html
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import feedparser
import pytest
import sqlite_utils
from atomcheck import validate_atom

from aggregator._neardup import linking as duplicates
from aggregator._storage.sqlite import MIGRATIONS, Store
from aggregator._update.decide import Outcome
from aggregator.config.settings import Settings, load_config
from aggregator.core import RunSummary, run

RUN_DATE = date(2026, 11, 23)

STORY = (
    "The regional grid operator approved a battery storage project with a capacity of 1.2"
    " gigawatt-hours on the site of a retired coal plant near Dunmore. The project will store"
    " surplus solar power in the afternoon and release it during the evening peak, when prices"
    " are highest. The developer said it will reuse the plant's existing grid connection, which"
    " saves about two years of permitting. Construction is expected to start in March and"
    " employ 300 workers. Local officials welcomed the tax revenue but residents asked for a"
    " fire safety plan, citing a battery fire in another state last year."
)
OTHER_STORY = (
    "A government auction for offshore wind leases drew record bids of 4.1 billion dollars for"
    " six areas off the northern coast. Analysts had expected weaker interest after higher"
    " interest rates forced several developers to cancel contracts last year. The winning"
    " bidders included two oil majors and a Danish utility. Fishing associations said the lease"
    " areas overlap with scallop grounds and asked for compensation."
)
CLUTTERED = (
    "Home | World | Tech | Business | Science\nShare on Facebook\n"
    + STORY.replace("solar power", "solar power click here").replace(
        "Construction", "Trending now: Construction"
    )
    + "\nRead more: Ten gadgets you need\nCopyright © 2026 TrendWire. All rights reserved."
)
ZH_STORY = (
    "近日，第十二届国际学习表征会议在奥地利维也纳召开。本届会议共收到七千多篇投稿论文，"
    "相较于上一年度增幅达到百分之四十六。大会最终接受了两千二百六十篇论文，整体接收率维持在"
    "百分之三十一左右，与去年基本持平。大模型成为今年会议的热门关键词之一，来自全球各地的"
    "研究团队提交了大量相关论文。"
)
ZH_CLUTTERED = (
    "设为首页加入收藏\n首页 | 热点 | 知识 | 时尚 | 探索\n来源：观察爆料社\n"
    + ZH_STORY.replace("召开。", "召开。力量").replace("投稿论文", "投稿绯闻论文")
    + "\n相关阅读：十大热门手机\n版权所有 © 2026 观察爆料社"
)


@dataclass
class Item:
    title: str
    text: str
    guid: str
    link: str | None = None
    published: str = "2026-11-20T08:00:00Z"
    authors: Sequence[str] = ()
    categories: Sequence[str] = ()
    pdf: str | None = None
    doi: str | None = None
    extra: list[str] = field(default_factory=list)


def atom(items: Sequence[Item], name: str = "feed") -> str:
    entries = []
    for item in items:
        parts = [
            f"<title>{html.escape(item.title)}</title>",
            f"<id>{html.escape(item.guid)}</id>",
            f"<updated>{item.published}</updated>",
            f"<published>{item.published}</published>",
            f"<content type='html'>{html.escape(html.escape(item.text))}</content>",
        ]
        if item.link:
            parts.append(f"<link rel='alternate' href='{html.escape(item.link)}'/>")
        if item.pdf:
            parts.append(f"<link rel='related' type='application/pdf' href='{item.pdf}'/>")
        if item.doi:
            parts.append(f"<prism:doi>{item.doi}</prism:doi>")
        parts += [f"<author><name>{a}</name></author>" for a in item.authors]
        parts += [f"<category term='{c}'/>" for c in item.categories]
        entries.append("<entry>" + "".join(parts) + "</entry>")
    return (
        "<?xml version='1.0' encoding='utf-8'?>"
        "<feed xmlns='http://www.w3.org/2005/Atom'"
        " xmlns:prism='http://prismstandard.org/namespaces/basic/2.0/'>"
        f"<title>{name}</title><id>tag:example.org,2026:{name}</id>"
        "<updated>2026-11-22T00:00:00Z</updated>" + "".join(entries) + "</feed>"
    )


def setup(
    tmp_path: Path,
    feeds: dict[str, Sequence[Item]],
    dedup: str = "",
    categories: dict[str, str] | None = None,
) -> Settings:
    lines = [dedup]
    for name, items in feeds.items():
        (tmp_path / f"{name}.atom").write_text(atom(items, name), encoding="utf-8")
        category = (categories or {}).get(name, name)
        lines.append(
            f'[[sources]]\nname = "{name}"\npath = "{name}.atom"\ncategories = ["{category}"]\n'
        )
    path = tmp_path / "aggregator.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return load_config(path)


def rewrite(tmp_path: Path, name: str, items: Sequence[Item]) -> None:
    (tmp_path / f"{name}.atom").write_text(atom(items, name), encoding="utf-8")


def published(settings: Settings, feed: str = "all") -> list[feedparser.FeedParserDict]:
    data = (settings.publish.output_dir / "feeds" / f"{feed}.atom").read_bytes()
    validate_atom(data)
    parsed = feedparser.parse(data)
    assert not parsed.bozo
    return list(parsed.entries)


def do_run(settings: Settings, clock: Callable[[], datetime]) -> RunSummary:
    summary = run(settings, clock=clock, run_date=RUN_DATE)
    assert summary.failed == []
    return summary


def test_a_republished_copy_with_clutter_is_linked_not_published(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    settings = setup(
        tmp_path,
        {
            "original": [
                Item(
                    "Grid operator approves battery project",
                    STORY,
                    "o-1",
                    link="https://news.example.org/battery",
                )
            ],
            "farm": [
                Item(
                    "Grid operator approves battery project - TrendWire",
                    CLUTTERED,
                    "f-1",
                    link="https://farm.example.net/p?id=77",
                    published="2026-11-21T10:00:00Z",
                ),
                Item(
                    "Offshore wind auction draws record bids",
                    OTHER_STORY,
                    "f-2",
                    link="https://farm.example.net/p?id=78",
                ),
            ],
        },
    )
    summary = do_run(settings, clock)
    assert summary.count(Outcome.NEW) == 2
    assert summary.count(Outcome.DUPLICATE) == 1
    entries = published(settings)
    assert sorted(e.title for e in entries) == [
        "Grid operator approves battery project",
        "Offshore wind auction draws record bids",
    ]
    # The kept entry gains the duplicate's category: it appears in the farm's feed too.
    farm = published(settings, "farm")
    assert sorted(e.title for e in farm) == [
        "Grid operator approves battery project",
        "Offshore wind auction draws record bids",
    ]
    with Store(settings.storage.database) as store:
        [link] = store.duplicate_links()
        assert link.reason == "near"
        assert link.similarity is not None and link.similarity >= 0.5
        kept = store.get_entries([link.kept_key])[link.kept_key]
        assert kept.sources == ("original", "farm")
        assert set(kept.categories) == {"original", "farm"}
    # Re-running changes nothing: no new row, no new link, byte-identical feeds.
    before = (settings.publish.output_dir / "feeds" / "all.atom").read_bytes()
    again = do_run(settings, clock)
    assert again.count(Outcome.NEW) == 0
    assert (settings.publish.output_dir / "feeds" / "all.atom").read_bytes() == before
    with Store(settings.storage.database) as store:
        assert store.count_duplicates() == 1


def test_a_chinese_copy_with_clutter_and_junk_words_is_linked(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    settings = setup(
        tmp_path,
        {
            "zh-original": [
                Item(
                    "在 ICLR 2024，看见中国大模型的力量",
                    ZH_STORY,
                    "z-1",
                    link="https://a.example.cn/1",
                )
            ],
            "zh-farm": [
                Item(
                    "在ICLR 2024,看见中国大模型的力量_观察爆料社",
                    ZH_CLUTTERED,
                    "z-2",
                    link="https://b.example.cn/2",
                )
            ],
        },
    )
    do_run(settings, clock)
    assert [e.title for e in published(settings)] == ["在 ICLR 2024，看见中国大模型的力量"]


def test_different_stories_on_the_same_topic_stay_apart(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    settings = setup(
        tmp_path,
        {
            "a": [
                Item(
                    "Grid operator approves battery project",
                    STORY,
                    "a-1",
                    link="https://a.example.org/1",
                )
            ],
            "b": [
                Item(
                    "Offshore wind auction draws record bids",
                    OTHER_STORY,
                    "b-1",
                    link="https://b.example.org/1",
                )
            ],
        },
    )
    do_run(settings, clock)
    assert len(published(settings)) == 2


def test_the_same_title_a_year_later_is_not_merged(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    text = STORY.replace("300 workers", "310 workers")
    settings = setup(
        tmp_path,
        {
            "last-year": [
                Item(
                    "Annual grid storage report",
                    STORY,
                    "y-1",
                    link="https://grid.example.org/2025",
                    published="2025-11-20T08:00:00Z",
                    authors=["Laura Fischer"],
                )
            ],
            "this-year": [
                Item(
                    "Annual grid storage report",
                    text,
                    "y-2",
                    link="https://grid.example.org/2026",
                    authors=["Laura Fischer"],
                )
            ],
        },
    )
    do_run(settings, clock)
    assert len(published(settings)) == 2


def test_guid_churn_makes_no_second_copy(tmp_path: Path, clock: Callable[[], datetime]) -> None:
    first = [
        Item("Grid operator approves battery project", STORY, "urn:feed:1"),
        Item("Offshore wind auction draws record bids", OTHER_STORY, "urn:feed:2"),
        Item("Short note", "Office closed on Friday.", "urn:feed:3"),
    ]
    settings = setup(tmp_path, {"churny": first})
    do_run(settings, clock)
    assert len(published(settings)) == 3
    # Overnight the feed re-issues every entry under a new guid, same text and dates.
    rewrite(tmp_path, "churny", [Item(i.title, i.text, i.guid + "-v2") for i in first])
    summary = do_run(settings, clock)
    assert summary.count(Outcome.NEW) == 0
    assert summary.count(Outcome.DUPLICATE) == 3
    assert len(published(settings)) == 3
    with Store(settings.storage.database) as store:
        assert {link.reason for link in store.duplicate_links()} == {"same"}


def test_a_paper_is_matched_by_arxiv_id_in_another_link_form(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    settings = setup(
        tmp_path,
        {
            "arxiv": [
                Item(
                    "Causal-graph-guided chain of thought",
                    STORY,
                    "oai:arXiv.org:2601.06098v1",
                    link="https://arxiv.org/abs/2601.06098",
                    authors=["Nicholas X. Wang"],
                )
            ],
            "conference": [
                Item(
                    "Poster 17: question generation with causal graphs",
                    "Poster session B, hall 3.",
                    "conf-17",
                    link="https://conf.example.org/posters/17",
                    pdf="http://export.arxiv.org/pdf/2601.06098v2",
                    published="2026-06-01T08:00:00Z",
                )
            ],
        },
    )
    do_run(settings, clock)
    assert [e.link for e in published(settings)] == ["https://arxiv.org/abs/2601.06098"]
    with Store(settings.storage.database) as store:
        [link] = store.duplicate_links()
        assert (link.reason, link.kept_key) == ("arxiv", "arxiv:2601.06098")


def test_a_paper_is_matched_by_doi_in_another_form(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    settings = setup(
        tmp_path,
        {
            "journal": [
                Item(
                    "Weight matching and linear mode connectivity",
                    STORY,
                    "j-1",
                    link="https://journal.example.org/a/1",
                    doi="10.1145/3700123.4567",
                )
            ],
            "digest": [
                Item(
                    "Linear mode connectivity, revisited",
                    OTHER_STORY,
                    "d-1",
                    link="https://doi.org/10.1145/3700123.4567",
                )
            ],
        },
    )
    do_run(settings, clock)
    assert len(published(settings)) == 1
    with Store(settings.storage.database) as store:
        assert [link.reason for link in store.duplicate_links()] == ["doi"]


def test_a_paper_is_matched_by_title_and_first_author(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    settings = setup(
        tmp_path,
        {
            "preprints": [
                Item(
                    "Wavelet Positional Encoding for Transformers",
                    STORY,
                    "p-1",
                    link="https://preprints.example.org/1",
                    authors=["Yuki Sato", "Kenji Watanabe"],
                )
            ],
            "proceedings": [
                Item(
                    "WAVELET POSITIONAL ENCODING FOR TRANSFORMERS.",
                    OTHER_STORY,
                    "q-1",
                    link="https://proc.example.org/9",
                    authors=["Sato, Yuki"],
                    published="2027-02-01T00:00:00Z",
                )
            ],
        },
    )
    do_run(settings, clock)
    assert len(published(settings)) == 1
    with Store(settings.storage.database) as store:
        assert [link.reason for link in store.duplicate_links()] == ["title"]


def test_source_priority_keeps_the_authoritative_copy(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    feeds = {
        "farm": [
            Item(
                "Battery project approved - TrendWire",
                CLUTTERED,
                "f-1",
                link="https://farm.example.net/1",
            )
        ],
        "original": [],
    }
    settings = setup(tmp_path, feeds, dedup='[dedup]\nsource_priority = ["original"]\n')
    do_run(settings, clock)
    assert [e.title for e in published(settings)] == ["Battery project approved - TrendWire"]
    rewrite(
        tmp_path,
        "original",
        [
            Item(
                "Grid operator approves battery project",
                STORY,
                "o-1",
                link="https://news.example.org/battery",
            )
        ],
    )
    summary = do_run(settings, clock)
    assert summary.count(Outcome.NEW) == 1
    assert [e.title for e in published(settings)] == ["Grid operator approves battery project"]
    with Store(settings.storage.database) as store:
        [link] = store.duplicate_links()
        assert link.kept_key == "url:https://news.example.org/battery"
        assert link.entry_key == "url:https://farm.example.net/1"


def test_split_publishes_the_duplicate_and_is_sticky(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    settings = setup(
        tmp_path,
        {
            "original": [
                Item(
                    "Grid operator approves battery project",
                    STORY,
                    "o-1",
                    link="https://news.example.org/battery",
                )
            ],
            "farm": [
                Item(
                    "Battery project approved - TrendWire",
                    CLUTTERED,
                    "f-1",
                    link="https://farm.example.net/1",
                )
            ],
        },
    )
    do_run(settings, clock)
    assert len(published(settings)) == 1
    with Store(settings.storage.database) as store:
        [link] = store.duplicate_links()
        duplicates.split(store, str(link.id), now=clock(), settings=settings.dedup)
        kept = store.get_entries([link.kept_key])[link.kept_key]
        assert kept.categories == ("original",)
        assert kept.sources == ("original",)
    do_run(settings, clock)
    assert len(published(settings)) == 2
    # A third source delivering the farm's copy again under a new URL is compared with
    # both: it is linked, but the split pair itself stays apart.
    rewrite(
        tmp_path,
        "farm",
        [
            Item(
                "Battery project approved - TrendWire",
                CLUTTERED,
                "f-1",
                link="https://farm.example.net/1",
            ),
            Item(
                "Battery project approved (mirror)",
                CLUTTERED,
                "f-2",
                link="https://mirror.example.net/1",
            ),
        ],
    )
    do_run(settings, clock)
    assert len(published(settings)) == 2
    with Store(settings.storage.database) as store:
        pairs = {(link.entry_key, link.kept_key) for link in store.duplicate_links()}
        assert (
            "url:https://farm.example.net/1",
            "url:https://news.example.org/battery",
        ) not in pairs
        assert store.split_partners("url:https://farm.example.net/1") == {
            "url:https://news.example.org/battery"
        }


def test_turning_detection_off_publishes_both(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    settings = setup(
        tmp_path,
        {
            "original": [
                Item(
                    "Grid operator approves battery project",
                    STORY,
                    "o-1",
                    link="https://news.example.org/battery",
                )
            ],
            "farm": [
                Item(
                    "Battery project approved - TrendWire",
                    CLUTTERED,
                    "f-1",
                    link="https://farm.example.net/1",
                )
            ],
        },
        dedup="[dedup]\nenabled = false\n",
    )
    do_run(settings, clock)
    assert len(published(settings)) == 2


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_entries_stored_before_detection_are_indexed(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    settings = setup(
        tmp_path,
        {
            "original": [
                Item(
                    "Grid operator approves battery project",
                    STORY,
                    "o-1",
                    link="https://news.example.org/battery",
                )
            ],
            "farm": [],
        },
    )
    do_run(settings, clock)
    with Store(settings.storage.database) as store, store.transaction():
        store.db.execute("DELETE FROM entry_signatures")  # as in a database from before
        store.db.execute("DELETE FROM entry_work_keys")
    rewrite(
        tmp_path,
        "farm",
        [
            Item(
                "Battery project approved - TrendWire",
                CLUTTERED,
                "f-1",
                link="https://farm.example.net/1",
            )
        ],
    )
    do_run(settings, clock)  # the run indexes entries of the window before comparing
    assert len(published(settings)) == 1


def test_a_duplicate_delivered_again_under_a_new_category_files_the_kept_entry_there(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    original = [
        Item(
            "Grid operator approves battery project",
            STORY,
            "o-1",
            link="https://news.example.org/battery",
        )
    ]
    farm = Item(
        "Battery project approved - TrendWire", CLUTTERED, "f-1", link="https://farm.example.net/1"
    )
    settings = setup(tmp_path, {"original": original, "farm": [farm], "energy": []})
    do_run(settings, clock)
    rewrite(tmp_path, "energy", [farm])  # another source delivers the farm copy itself
    do_run(settings, clock)
    assert [e.title for e in published(settings, "energy")] == [
        "Grid operator approves battery project"
    ]
    assert len(published(settings)) == 1


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_a_database_from_before_migration_6_is_upgraded_and_indexed(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    settings = setup(
        tmp_path,
        {
            "farm": [
                Item(
                    "Battery project approved - TrendWire",
                    CLUTTERED,
                    "f-1",
                    link="https://farm.example.net/1",
                )
            ]
        },
    )
    # A database written by a version that only had the first migration, holding the
    # original story.
    conn = sqlite3.connect(settings.storage.database)
    db = sqlite_utils.Database(conn)
    version, name, migrate = MIGRATIONS[0]
    migrate(db)
    db.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    db.execute("INSERT INTO schema_migrations VALUES (?, ?, 'then')", [version, name])
    seen = clock().isoformat(timespec="seconds")
    db.execute(
        "INSERT INTO entries (key, atom_id, title, link, published, updated, first_seen,"
        " digest_day, content, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'h')",
        [
            "url:https://news.example.org/battery",
            "urn:uuid:1",
            "Grid operator approves battery project",
            "https://news.example.org/battery",
            "2026-11-20T08:00:00+00:00",
            seen,
            seen,
            "2026-11-23",
            f"<p>{STORY}</p>",
        ],
    )
    conn.commit()
    conn.close()
    do_run(settings, clock)  # migrates, indexes the old entry, links the farm copy
    with Store(settings.storage.database) as store:
        assert store.schema_version() == MIGRATIONS[-1][0]
        [link] = store.duplicate_links()
        assert link.kept_key == "url:https://news.example.org/battery"
    assert [e.title for e in published(settings)] == ["Grid operator approves battery project"]


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_a_story_republished_many_times_stays_one_candidate(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    """Linked duplicates keep no band keys, so each copy is compared with the kept one
    alone (a thousand copies would otherwise make every lookup compare a thousand)."""
    copies = [
        Item(
            f"Grid operator approves battery project ({number})",
            STORY,
            f"c-{number}",
            link=f"https://mirror{number}.example.net/battery",
        )
        for number in range(40)
    ]
    settings = setup(tmp_path, {"mirrors": copies})
    summary = do_run(settings, clock)
    assert summary.count(Outcome.NEW) == 1 and summary.count(Outcome.DUPLICATE) == 39
    with Store(settings.storage.database) as store:
        [kept] = {link.kept_key for link in store.duplicate_links()}
        band_owners = store.db.execute(
            "SELECT DISTINCT s.entry_key FROM (SELECT * FROM lsh_bands UNION ALL"
            " SELECT * FROM lsh_bands_recent) b"
            " JOIN entry_signatures s ON s.id = b.sig_id"
        ).fetchall()
        assert band_owners == [(kept,)]
        probe = store.stored_features([kept])[kept]
        assert probe.signature is not None
        # Splitting one copy off gives it its band keys back: it is a candidate again.
        link = store.duplicate_links()[0]
        duplicates.split(store, str(link.id), now=clock(), settings=settings.dedup)
        owners = {
            key
            for (key,) in store.db.execute(
                "SELECT DISTINCT s.entry_key FROM (SELECT * FROM lsh_bands UNION ALL"
                " SELECT * FROM lsh_bands_recent) b"
                " JOIN entry_signatures s ON s.id = b.sig_id"
            )
        }
        assert owners == {kept, link.entry_key}
