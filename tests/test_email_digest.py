"""A subscriber's selection and the email's HTML and text (pure: no server)."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import NOW

from aggregator._mail.digest import matches, render_email, select, strip_images, subject
from aggregator._output.digest import Digest, choose
from aggregator.config.mail import EmailSettings, Subscriber
from aggregator.types import StoredEntry

DAY = date(2026, 11, 23)


def entry(key: str, title: str, categories: tuple[str, ...], summary: str = "") -> StoredEntry:
    return StoredEntry(
        key=key,
        atom_id=f"urn:x:{key}",
        title=title,
        link=f"https://example.org/{key}",
        published=NOW,
        updated=NOW,
        first_seen=NOW,
        digest_day=DAY,
        authors=("A. Author",),
        summary=summary,
        content=None,
        sections=(("Background", "Some background."),),
        categories=categories,
        pdf_url=None,
        arxiv_id=None,
        doi=None,
        language=None,
        content_hash=key,
        position=0,
    )


def subscriber(**fields: object) -> Subscriber:
    values: dict[str, object] = {
        "email": "r@example.org",
        "name": None,
        "categories": (),
        "keywords": (),
        "format": "html",
    }
    return Subscriber(**(values | fields))  # type: ignore[arg-type]


def email_settings(max_html_bytes: int = 100_000) -> EmailSettings:
    from email.headerregistry import Address

    return EmailSettings(
        smtp_host="localhost",
        smtp_port=25,
        security="none",
        username=None,
        password_env=None,
        timeout=5,
        sender=Address("Digest", "digest", "example.org"),
        reply_to=None,
        list_id="digest.example.org",
        unsubscribe_url=None,
        unsubscribe_mailto=None,
        send_empty=False,
        max_retries=0,
        backoff=0,
        max_html_bytes=max_html_bytes,
    )


DIGEST = choose(
    DAY,
    title="Daily digest",
    new=[
        entry("1", "Agents that plan with LLMs", ("cs.AI",)),
        entry("2", "在 ICLR 2024,看见中国大模型的力量", ("articles",)),
        entry("3", "Allman style bracing considered", ("cs.SE",)),
        entry("4", "日本語の大規模言語モデル", ("cs.CL",), summary="<p>ＬＬＭの評価</p>"),
    ],
    updated=[entry("5", "A multi-agent benchmark", ("cs.AI", "cs.MA"))],
)


def titles(digest: Digest) -> list[str]:
    return [i.entry.title for s in digest.sections for i in s.items]


@pytest.mark.parametrize(
    ("keywords", "expected"),
    [
        (("llm",), ["Agents that plan with LLMs", "日本語の大規模言語モデル"]),
        (("agent",), ["Agents that plan with LLMs", "A multi-agent benchmark"]),
        (("大模型",), ["在 ICLR 2024,看见中国大模型的力量"]),
        (("言語モデル",), ["日本語の大規模言語モデル"]),
        (("man",), []),  # not inside "Allman"
        (("BACKGROUND",), titles(DIGEST)),  # sections are searched too
    ],
)
def test_keywords(keywords: tuple[str, ...], expected: list[str]) -> None:
    chosen = select(DIGEST, subscriber(keywords=keywords))
    assert sorted(set(titles(chosen))) == sorted(set(expected))


def test_categories_are_matched_without_case_and_empty_sections_dropped() -> None:
    chosen = select(DIGEST, subscriber(categories=("CS.AI", "physics")))
    assert [s.category for s in chosen.sections] == ["cs.AI"]
    assert titles(chosen) == ["Agents that plan with LLMs", "A multi-agent benchmark"]
    assert select(DIGEST, subscriber(categories=("physics",))).is_empty
    assert matches(DIGEST.sections[0].items[0], ())


def test_subject_counts_new_and_updated_and_names_few_categories() -> None:
    assert subject(select(DIGEST, subscriber(categories=("cs.AI",)))) == (
        "Daily digest 2026-11-23: 1 new, 1 updated in cs.AI"
    )
    assert subject(DIGEST) == "Daily digest 2026-11-23: 4 new, 1 updated in 5 categories"
    empty = select(DIGEST, subscriber(categories=("physics",)))
    assert subject(empty) == "Daily digest 2026-11-23: nothing new"


def test_images_are_replaced_by_their_alt_text() -> None:
    html = '<p>a <IMG src="https://t.example/p.gif" alt="chart"> b <img src=x.png/></p>'
    assert strip_images(html) == "<p>a chart b </p>"


def test_text_subscribers_get_no_html() -> None:
    content = render_email(
        DIGEST,
        subscriber=subscriber(format="text"),
        settings=email_settings(),
        base_url="https://e/",
    )
    assert content.html is None and "Agents that plan with LLMs" in content.text


def test_a_huge_digest_is_cut_to_fit_and_links_the_rest() -> None:
    many = choose(
        DAY,
        title="Daily digest",
        new=[
            entry(str(n), f"Paper {n} " + "long title words " * 10, (f"cat{n % 3}",), "x" * 300)
            for n in range(300)
        ],
    )
    content = render_email(
        many, subscriber=subscriber(), settings=email_settings(40_000), base_url="https://e/"
    )
    assert content.html is not None and len(content.html.encode()) <= 40_000
    assert content.limit is not None and content.limit > 0
    assert content.html.count("<h3") == 3 * content.limit
    # Beside the entries in full, as many titles as fit; the rest are linked online.
    assert content.titles is not None and content.titles > 0
    shown = content.limit + content.titles
    assert content.html.count("<li>") == 3 * content.titles
    assert f"and {100 - shown} more in cat0" in content.html
    assert f"and {100 - shown} more in cat0" in content.text
    # With room for nothing but the headings, each category still links the digest.
    tiny = render_email(
        many, subscriber=subscriber(), settings=email_settings(10_000), base_url="https://e/"
    )
    assert tiny.limit == 0 and tiny.html is not None and "<h3" not in tiny.html
    assert tiny.html.count("read the full digest online") == 3


def test_a_ranked_600_entry_day_stays_under_gmails_clipping_limit() -> None:
    """A day of 600 papers (realistic titles and abstracts), ranked with reasons, for a
    subscriber who wants 10 per category in full: the HTML measured stays under 102 KB,
    the most relevant are shown in full, as many others as fit by title."""
    from aggregator._output.digest import ranked
    from aggregator.types import Rank
    from benchmarks.papers import papers

    day = papers(600, seed=5)
    many = choose(
        DAY,
        title="Daily digest",
        new=[
            entry(f"e{n}", p.title, (("cs.AI", "cs.LG", "cs.CL")[n % 3],), p.abstract)
            for n, p in enumerate(day)
        ],
    )
    table = {
        f"e{n}": Rank(2, -float(n), f"like: {day[0].title}") if p.topic == "rl" else Rank(2, -1e6)
        for n, p in enumerate(day)
    }
    content = render_email(
        ranked(many, table),
        subscriber=subscriber(max_entries=10),
        settings=email_settings(100_000),
        base_url="https://e/",
    )
    assert content.html is not None
    size = len(content.html.encode("utf-8"))
    assert size <= 100_000 < 102 * 1024
    assert content.limit is not None and 0 < content.limit <= 10
    # What is shown in full is the reader's topic first, with its reason.
    first = content.html.index("<h3")
    assert "like: " in content.html[first : first + 2000]
    assert content.titles is not None and content.titles > 0
    assert content.html.count("<li>") == 3 * content.titles
    assert "read the full digest online" in content.html
    # Unclipped, the same day would be several times larger.
    whole = render_email(
        ranked(many, table),
        subscriber=subscriber(),
        settings=email_settings(10_000_000),
        base_url="https://e/",
    )
    assert whole.html is not None and len(whole.html.encode()) > 5 * size
