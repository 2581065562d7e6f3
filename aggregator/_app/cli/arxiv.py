"""The ``aggregator arxiv`` commands: backfilling listings the feeds no longer hold."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from ..._common.wording import plural
from ...core import Aggregator, system_clock
from ...errors import ConfigError
from .app import (
    DATE,
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_SOURCES_FAILED,
    fail,
    main,
    settings_of,
)


@main.group("arxiv")
def arxiv_group() -> None:
    """arXiv sources: backfill days the feeds no longer hold."""


@arxiv_group.command("backfill")
@click.option(
    "--from",
    "start",
    type=DATE,
    required=True,
    metavar="YYYY-MM-DD",
    help="First listing day to fetch (the date arXiv gives the announcement).",
)
@click.option(
    "--to",
    "end",
    type=DATE,
    required=True,
    metavar="YYYY-MM-DD",
    help="Last listing day to fetch (inclusive).",
)
@click.option(
    "--source",
    "names",
    multiple=True,
    metavar="NAME",
    help="Only this arxiv source (repeat for several). Default: every arxiv source.",
)
@click.pass_context
def backfill_command(
    ctx: click.Context, start: datetime, end: datetime, names: tuple[str, ...]
) -> None:
    """Fetch the listings of a range of days from arXiv's export API.

    One request at a time, [arxiv].api_delay seconds apart (3, as arXiv asks). Papers
    are stored as the feeds would have delivered them, dated by the listing day arXiv's
    schedule gives them, and the digests of those days are written.
    """
    settings = settings_of(ctx)
    if start > end:
        fail(ConfigError("--from is after --to"), EXIT_CONFIG)
    known = {s.name for s in settings.sources if s.kind == "arxiv" and s.follow}
    unknown = [name for name in names if name not in known]
    if unknown or not known:
        fail(
            ConfigError(
                f"no arxiv source named {', '.join(unknown)}" if unknown else "no arxiv sources",
                file=settings.origin,
                hint=f"arxiv sources with categories: {', '.join(sorted(known)) or 'none'}",
            ),
            EXIT_CONFIG,
        )
    summary = Aggregator(settings, clock=system_clock).backfill(
        start=start.date(), end=end.date(), names=names
    )
    click.echo(
        f"Backfill {summary.start} to {summary.end}: {plural(len(summary.sources), 'source')},"
        f" {plural(summary.requests, 'API request')}"
    )
    for report in summary.sources:
        if report.note:
            click.echo(f"{report.name}: {report.note}")
        for warning in report.warnings:
            click.echo(f"warning: {report.name}: {warning}", err=True)
    for report in summary.failed:
        click.echo(f"failed: {report.name} ({report.location}): {report.error}", err=True)
    if summary.digest_days:
        days = ", ".join(d.isoformat() for d in summary.digest_days)
        click.echo(f"Digests: {days} ({settings.publish.output_dir}/digests)")
    sys.exit(EXIT_SOURCES_FAILED if summary.failed else EXIT_OK)
