"""``aggregator dupes``: list, explain, split and re-index duplicate links."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from .. import duplicates
from ..config import Settings
from ..errors import AggregatorError, LinkNotFoundError, StorageError
from ..pipeline import run, system_clock
from ..store import Store
from .app import EXIT_CONFIG, EXIT_FATAL, fail, main, settings_of


def _console() -> Console:
    # Wide enough off a terminal (cron mail, pipes) that keys are never cut.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def _require_database(settings: Settings) -> None:
    if not settings.storage.database.exists():
        fail(
            StorageError(
                f"no database yet at {settings.storage.database}",
                hint="run `aggregator run` first",
            ),
            EXIT_CONFIG,
        )


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
    if not settings.storage.database.exists():
        click.echo(f"No database yet at {settings.storage.database}: run `aggregator run` first.")
        return
    try:
        with Store(settings.storage.database) as store:
            links = store.duplicate_links(limit=limit)
            total = store.count_duplicates()
    except AggregatorError as err:
        fail(err, EXIT_FATAL)
    if not links:
        click.echo("No duplicates linked.")
        return
    table = Table(title=f"Duplicates ({total} linked)", title_justify="left")
    for column in ("#", "reason", "similarity", "duplicate (hidden)", "kept"):
        table.add_column(column)
    for link in links:
        table.add_row(
            str(link.id), link.reason, _similarity(link.similarity), link.title, link.kept_title
        )
    _console().print(table)
    click.echo("`aggregator dupes explain N` says why; `aggregator dupes split N` undoes a link.")


@dupes_group.command("explain")
@click.argument("ident", metavar="ID")
@click.pass_context
def explain_command(ctx: click.Context, ident: str) -> None:
    """Say why ID was linked: the rule, the similarity and what the two share.

    ID is a link's number from `dupes list`, or the duplicate's identity key, Atom id
    or link.
    """
    settings = settings_of(ctx)
    _require_database(settings)
    try:
        with Store(settings.storage.database) as store:
            found = duplicates.explain(store, ident, settings.dedup)
    except LinkNotFoundError as err:
        fail(err, EXIT_CONFIG)
    except AggregatorError as err:
        fail(err, EXIT_FATAL)
    link = found.link
    click.echo(f"Link #{link.id}: {found.reason_text} ({link.reason})")
    click.echo(f"  duplicate (not published): {link.title}")
    click.echo(f"    key:     {link.entry_key}")
    click.echo(f"    link:    {found.duplicate_link or '-'}")
    click.echo(f"    sources: {', '.join(found.duplicate_sources) or '-'}")
    click.echo(f"    dated:   {found.duplicate_when or '-'}")
    click.echo(f"  kept: {link.kept_title}")
    click.echo(f"    key:     {link.kept_key}")
    click.echo(f"    link:    {found.kept_link or '-'}")
    click.echo(f"    sources: {', '.join(found.kept_sources) or '-'}")
    click.echo(f"    dated:   {found.kept_when or '-'}")
    click.echo(
        f"  similarity when linked: {_similarity(link.similarity)};"
        f" now: {_similarity(found.similarity_now)}"
        f" (near-duplicate threshold {found.threshold:.2f},"
        f" window {found.window_days} days)"
    )
    if found.shared_work_keys:
        click.echo(f"  shared keys: {', '.join(found.shared_work_keys)}")
    click.echo(f"  linked at {link.linked_at}. Wrong? `aggregator dupes split {link.id}`")


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
    _require_database(settings)
    try:
        with Store(settings.storage.database) as store:
            link = duplicates.split(store, ident, now=system_clock(), settings=settings.dedup)
        if not no_publish:
            run(settings, clock=system_clock, do_ingest=False)
    except LinkNotFoundError as err:
        fail(err, EXIT_CONFIG)
    except AggregatorError as err:
        fail(err, EXIT_FATAL)
    click.echo(f"Split #{link.id}: {link.title!r} is no longer a duplicate of {link.kept_title!r}.")
    if not no_publish:
        click.echo(f"Feeds rewritten in {settings.publish.output_dir}/feeds.")


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
    _require_database(settings)
    try:
        with Store(settings.storage.database) as store:
            count = duplicates.index_missing(
                store, settings.dedup, now=system_clock(), everything=everything
            )
    except AggregatorError as err:
        fail(err, EXIT_FATAL)
    click.echo(f"Indexed {count} entries.")
