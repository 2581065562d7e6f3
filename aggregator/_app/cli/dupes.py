"""``aggregator dupes``: list, explain, split and re-index duplicate links.

Errors are not caught here: ``app.AggregatorGroup`` prints them as one line and exits
with the code of their class (a link that is not found: 2; the database: 3).
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..._common.wording import plural
from ...core import Aggregator, system_clock
from .app import main, settings_of
from .output import clean, echo, fields


def _console() -> Console:
    # Wide enough off a terminal (cron mail, pipes) that keys are never cut.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def _similarity(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


@main.group("dupes")
def dupes_group() -> None:
    """Entries linked as duplicates of another: list, explain, undo.

    A duplicate is stored but neither published nor sent; the entry kept in its
    place lists its sources and categories. See "Duplicates" in the README.
    """


@dupes_group.command("list")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Show at most this many links, newest first.",
)
@click.pass_context
def list_command(ctx: click.Context, limit: int) -> None:
    """Show the newest duplicate links: number, reason, similarity, both titles."""
    settings = settings_of(ctx)
    if settings.storage.url is None and not settings.storage.database.exists():
        click.echo(f"No database yet at {settings.storage.database}: run `aggregator run` first.")
        return
    links, total = Aggregator(settings, clock=system_clock).duplicates(limit=limit)
    if not links:
        echo("No duplicates linked.")
        return
    table = Table(title=f"Duplicates ({total} linked)", title_justify="left")
    for column in ("#", "reason", "similarity", "duplicate (hidden)", "kept"):
        table.add_column(column)
    for link in links:
        # Text, not markup: a title "[/]" or "[link=...]" is shown as it is.
        table.add_row(
            *(
                Text(clean(value))
                for value in (
                    link.id,
                    link.reason,
                    _similarity(link.similarity),
                    link.title,
                    link.kept_title,
                )
            )
        )
    _console().print(table)
    echo("`aggregator dupes explain N` says why; `aggregator dupes split N` undoes a link.")


@dupes_group.command("explain")
@click.argument("ident", metavar="ID")
@click.pass_context
def explain_command(ctx: click.Context, ident: str) -> None:
    """Say why ID was linked: the rule, the similarity and what the two share.

    ID is a link's number from `dupes list`, or the duplicate's identity key, Atom id
    or link.
    """
    settings = settings_of(ctx)
    found = Aggregator(settings, clock=system_clock).explain(ident)
    link = found.link
    fields(
        "Link #{id}: {reason_text} ({reason})",
        id=link.id,
        reason_text=found.reason_text,
        reason=link.reason,
    )
    fields("  duplicate (not published): {title}", title=link.title)
    fields("    key:     {key}", key=link.entry_key)
    fields("    link:    {link}", link=found.duplicate_link or "-")
    fields("    sources: {sources}", sources=", ".join(found.duplicate_sources) or "-")
    fields("    dated:   {when}", when=found.duplicate_when or "-")
    fields("  kept: {title}", title=link.kept_title)
    fields("    key:     {key}", key=link.kept_key)
    fields("    link:    {link}", link=found.kept_link or "-")
    fields("    sources: {sources}", sources=", ".join(found.kept_sources) or "-")
    fields("    dated:   {when}", when=found.kept_when or "-")
    echo(
        f"  similarity when linked: {_similarity(link.similarity)};"
        f" now: {_similarity(found.similarity_now)}"
        f" (near-duplicate threshold {found.threshold:.2f},"
        f" window {plural(found.window_days, 'day')})"
    )
    if found.shared_work_keys:
        fields("  shared keys: {keys}", keys=", ".join(found.shared_work_keys))
    fields(
        "  linked at {when}. Wrong? `aggregator dupes split {id}`", when=link.linked_at, id=link.id
    )


@dupes_group.command("split")
@click.argument("ident", metavar="ID")
@click.option(
    "--no-publish",
    is_flag=True,
    help="Only undo the link; do not rewrite the feeds and digests now.",
)
@click.pass_context
def split_command(ctx: click.Context, ident: str, no_publish: bool) -> None:
    """Undo a wrong link: ID is published again as an entry of its own.

    The pair is remembered, so later runs never link the two again. ID is a link's
    number from `dupes list`, or the duplicate's identity key, Atom id or link.
    """
    settings = settings_of(ctx)
    link = Aggregator(settings, clock=system_clock).split(ident, publish=not no_publish)
    fields(
        "Split #{id}: {title} is no longer a duplicate of {kept}.",
        id=link.id,
        title=repr(link.title),
        kept=repr(link.kept_title),
    )
    if not no_publish:
        fields("Feeds rewritten in {out}/feeds.", out=settings.publish.output_dir)


@dupes_group.command("reindex")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Index every stored entry, not only those within [dedup].window_days.",
)
@click.pass_context
def reindex_command(ctx: click.Context, everything: bool) -> None:
    """Compute signatures for stored entries that lack them.

    Needed for entries stored by an older aggregator, or after changing num_perm or
    bands (use --all). Links nothing by itself: entries already published stay as they are; only
    entries arriving later are compared with them.
    """
    settings = settings_of(ctx)
    count = Aggregator(settings, clock=system_clock).reindex(everything=everything)
    click.echo(f"Indexed {plural(count, 'entry')}.")
