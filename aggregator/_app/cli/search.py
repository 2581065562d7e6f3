"""``aggregator search``: the stored entries matching a query, best match first.

On a terminal each hit is its title, its day, categories and authors, a snippet and its
link, the matched words highlighted (rich styles on text passed through ``clean``:
nothing from a feed is read as markup or reaches the terminal as a control
character); ``--json`` prints the same as plain values for scripts. A query with
nothing to find, or broken FTS5 syntax with ``--fts5``, exits 2 with a hint
(``app.AggregatorGroup``).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from ..._common.wording import plural
from ...core import Aggregator, system_clock
from ...types import Marked, SearchHit, SearchResults
from .app import DATE, main, settings_of
from .output import clean, echo, json_text

#: Most hits one call shows.
MAX_LIMIT = 1000


@main.command("search")
@click.argument("words", nargs=-1, required=True)
@click.option("--category", "-c", help="Only entries filed under this category.")
@click.option(
    "--since",
    type=DATE,
    help="Only entries of this digest day (YYYY-MM-DD) or later.",
)
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, MAX_LIMIT),
    default=20,
    show_default=True,
    help="Show at most this many entries.",
)
@click.option(
    "--fts5",
    is_flag=True,
    help="Read the query in SQLite's FTS5 syntax (AND, OR, NOT, NEAR, column filters) "
    "instead of as words.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (plain text).")
@click.pass_context
def search_command(
    ctx: click.Context,
    words: tuple[str, ...],
    category: str | None,
    since: datetime | None,
    limit: int,
    fts5: bool,
    as_json: bool,
) -> None:
    """Search titles, abstracts, authors and content of every stored entry.

    WORDS must all occur (in any form: "agents" finds "agent"); "a phrase" in quotes,
    word* for a prefix, -word to leave out (after --: `aggregator search -- agent
    -survey`), OR between two words, and title:, abstract:, authors: or content:
    before a word. Chinese, Japanese and Korean words are found inside longer runs of
    text. Best match first.
    """
    settings = settings_of(ctx)
    results = Aggregator(settings, clock=system_clock).search(
        " ".join(words),
        syntax="fts5" if fts5 else "words",
        category=category,
        since=since.date() if since else None,
        limit=limit,
    )
    if as_json:
        echo(json_text(_as_dict(results)))
        return
    _print(results)


def _as_dict(results: SearchResults) -> dict[str, Any]:
    return {
        "query": results.query,
        "total": results.total,
        "unindexed": results.unindexed,
        "hits": [_hit_dict(hit) for hit in results.hits],
    }


def _hit_dict(hit: SearchHit) -> dict[str, Any]:
    entry = hit.entry
    return {
        "key": entry.key,
        "title": entry.title,
        "link": entry.link,
        "digest_day": entry.digest_day.isoformat(),
        "updated": entry.updated.isoformat(),
        "categories": list(entry.categories),
        "authors": list(entry.authors),
        "snippet": "".join(text for text, _ in hit.snippet),
        "matched": sorted({text for text, hit_ in (*hit.title, *hit.snippet) if hit_}),
        "score": round(hit.score, 6),
    }


def _marked(marked: Marked, *, style: str = "") -> Text:
    """``marked`` as rich text: the whole made one clean line first (the runs' own
    spaces kept), then styled by the runs' lengths."""
    whole = "".join(part for part, _ in marked)
    if clean(whole) != whole:  # (never, for text the index made; but it came from a feed)
        return Text(clean(whole), style=style)
    text = Text(style=style)
    for part, matched in marked:
        text.append(part, style="bold yellow" if matched else "")
    return text


def _print(results: SearchResults) -> None:
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 100)
    if not results.hits:
        echo(f"Nothing found for {clean(results.query)!r}.")
    for number, hit in enumerate(results.hits, start=1):
        entry = hit.entry
        line = Text(f"{number}. ")
        line.append_text(_marked(hit.title or ((entry.title, False),), style="bold"))
        console.print(line)
        about = [entry.digest_day.isoformat(), ", ".join(entry.categories)]
        if entry.authors:
            about.append(
                ", ".join(entry.authors[:3]) + (" et al." if len(entry.authors) > 3 else "")
            )
        console.print(Text("   " + clean(" · ".join(part for part in about if part)), style="dim"))
        if hit.snippet:
            console.print(Text("   ").append_text(_marked(hit.snippet)))
        if entry.link:
            console.print(Text("   " + clean(entry.link), style="cyan"))
    shown = len(results.hits)
    if results.total > shown:
        echo(f"{shown} of {plural(results.total, 'match', 'matches')}; --limit shows more.")
    if results.unindexed:
        echo(
            f"note: {plural(results.unindexed, 'entry', 'entries')} stored since the last run"
            " finished are not indexed yet; the next `aggregator run` indexes them.",
            err=True,
        )
