"""The pipeline commands: run, fetch, publish and digest (status: see ``status``).

Errors are not caught here: what the pipeline raises reaches ``app.AggregatorGroup``,
which prints it as one line and exits with the code of its class.
"""

from __future__ import annotations

import sys
from datetime import date, datetime

import click

from ..._common.wording import plural
from ..._update.decide import Outcome
from ...core import Aggregator, RunSummary, system_clock, today_in
from .app import (
    DATE,
    EXIT_OK,
    EXIT_SOURCES_FAILED,
    QUIET,
    main,
    run_date_of,
    settings_of,
)
from .output import echo, fields
from .progress import progress_for
from .send import mail_notices, report_delivery


def _execute(
    ctx: click.Context,
    *,
    run_date: date | None = None,
    do_ingest: bool = True,
    do_publish: bool = True,
    do_digest: bool = True,
    do_send: bool = False,
    summaries: bool = True,
) -> RunSummary:
    settings = settings_of(ctx)
    with progress_for(settings, enabled=do_ingest) as progress:
        return Aggregator(settings, clock=system_clock, summaries=summaries).run(
            run_date=run_date,
            ingest=do_ingest,
            publish=do_publish,
            digest=do_digest,
            send=do_send,
            purpose=ctx.info_name or "run",
            progress=progress,
        )


def _report(summary: RunSummary, settings_out: str, *, quiet: bool = False) -> None:
    if summary.created_database is not None:
        # Even with --quiet: a new database where one was expected is a typo in
        # [storage] database, and every entry would be new (and mailed) again.
        fields("Created a new database at {path}", path=summary.created_database)
    if not quiet:
        _report_done(summary, settings_out)
    for note in summary.notes:
        # The first line says what an enricher did; the rest are things to act on.
        if note[:1].isupper():
            if not quiet:
                echo(note)
        else:
            echo(f"warning: {note}", err=True)
    for report in summary.sources:
        for warning in report.warnings:
            fields("warning: {name}: {warning}", err=True, name=report.name, warning=warning)
    for report in summary.failed:
        fields(
            "failed: {name} ({location}): {error}",
            err=True,
            name=report.name,
            location=report.location,
            error=report.error,
        )


#: What the run summary calls each outcome. "duplicate" (the stored name, kept in the
#: run record and --json) would clash with `dupes list`, which shows near-duplicate
#: links: an entry delivered again under a key already stored is merged into that row.
OUTCOME_WORDS = {
    Outcome.NEW: "new",
    Outcome.UPDATED: "updated",
    Outcome.UNCHANGED: "unchanged",
    Outcome.DUPLICATE: "merged",
}


def _report_done(summary: RunSummary, settings_out: str) -> None:
    if summary.recovered_runs:
        runs = ", ".join(f"#{run}" for run in summary.recovered_runs)
        echo(f"Recovered: run {runs} was interrupted; its outputs are now complete")
    if summary.sources:
        failed = summary.failed
        skipped = [r for r in summary.sources if r.skipped and r.ok]
        not_modified = sum(1 for r in summary.sources if r.not_modified)
        line = (
            f"Sources: {len(summary.sources)} read,"
            f" {len(summary.sources) - len(failed) - len(skipped)} ok, {len(failed)} failed"
        )
        line += f", {not_modified} not modified" if not_modified else ""
        line += f", {len(skipped)} skipped" if skipped else ""
        echo(line)
        echo("Entries: " + ", ".join(f"{summary.count(o)} {OUTCOME_WORDS[o]}" for o in Outcome))
    if summary.feeds_total:
        fields(
            "Feeds: {total} published, {written} changed ({out}/feeds)",
            total=summary.feeds_total,
            written=summary.feeds_written,
            out=settings_out,
        )
    if summary.digest_days:
        days = ", ".join(d.isoformat() for d in summary.digest_days)
        fields("Digests: {days} ({out}/digests)", days=days, out=settings_out)
    if summary.pruned or summary.pruned_digests:
        echo(
            f"Pruned: {plural(summary.pruned, 'entry')},"
            f" {plural(len(summary.pruned_digests), 'digest')} (older than [storage].keep_days)"
        )
    _report_ranking(summary)
    for report in summary.sources:
        if report.note:
            fields("{name}: {note}", name=report.name, note=report.note)
    for report in summary.sources:
        if report.skipped and report.ok:
            fields("skipped: {name}: {why}", name=report.name, why=report.skipped)


def _report_ranking(summary: RunSummary) -> None:
    ranking = summary.ranking
    if ranking is not None and (ranking.fitted or ranking.scored):
        echo(
            f"Ranking: {plural(ranking.scored, 'entry')} scored,"
            f" {plural(ranking.fitted, 'model')} fitted"
        )
    if summary.personal_feeds:
        echo(f"Personal feeds: {summary.personal_feeds} changed")
    if ranking is None:
        return
    for name, refs in ranking.missing.items():
        shown = ", ".join(refs[:5]) + (f" and {len(refs) - 5} more" if len(refs) > 5 else "")
        fields("Liked papers not stored ({name}): {refs}", name=name, refs=shown)
    for problem in ranking.problems:
        fields("warning: {problem}", err=True, problem=problem)


def _exit(summary: RunSummary) -> None:
    undelivered = not all(report.ok for report in summary.deliveries)
    sys.exit(EXIT_SOURCES_FAILED if summary.failed or undelivered else EXIT_OK)


@main.command("run")
@click.option(
    "--date",
    "run_date",
    type=DATE,
    metavar="YYYY-MM-DD",
    help="Day to file entries without a date of their own under (default: today "
    "in [digest].timezone).",
)
@click.option(
    "--no-send",
    is_flag=True,
    help="Do not mail the day's digest to the [[subscribers]] (it is mailed by default "
    "when [email] is configured).",
)
@click.option(
    "--no-summaries",
    is_flag=True,
    help="Do not ask the [summaries] server this run: new entries keep the extractive "
    "TL;DR (summaries cached earlier are still shown).",
)
@QUIET
@click.pass_context
def run_command(
    ctx: click.Context, run_date: datetime | None, no_send: bool, no_summaries: bool, quiet: bool
) -> None:
    """Fetch every source, store new entries, publish feeds, write and mail digests.

    Mailing also finishes what earlier runs left unsent on the [email] resume_days
    days before (a run killed while sending, temporary failures).
    """
    with mail_notices():
        summary = _execute(
            ctx, run_date=run_date_of(run_date), do_send=not no_send, summaries=not no_summaries
        )
    settings = settings_of(ctx)
    _report(summary, str(settings.publish.output_dir), quiet=quiet)
    for report in summary.deliveries:
        report_delivery(report, quiet=quiet)
    if not no_send and settings.email is None and not quiet:
        click.echo("Email: not configured (add [email] and [[subscribers]] to mail digests)")
    _exit(summary)


@main.command("fetch")
@click.option(
    "--date",
    "run_date",
    type=DATE,
    metavar="YYYY-MM-DD",
    help="Day to file entries without a date of their own under.",
)
@click.option(
    "--no-summaries",
    is_flag=True,
    help="Do not ask the [summaries] server this run.",
)
@QUIET
@click.pass_context
def fetch_command(
    ctx: click.Context, run_date: datetime | None, no_summaries: bool, quiet: bool
) -> None:
    """Fetch and store every source; publish nothing."""
    summary = _execute(
        ctx,
        run_date=run_date_of(run_date),
        do_publish=False,
        do_digest=False,
        summaries=not no_summaries,
    )
    _report(summary, str(settings_of(ctx).publish.output_dir), quiet=quiet)
    _exit(summary)


@main.command("publish")
@QUIET
@click.pass_context
def publish_command(ctx: click.Context, quiet: bool) -> None:
    """Write the Atom feeds and the index page from what is stored."""
    summary = _execute(ctx, do_ingest=False, do_digest=False)
    _report(summary, str(settings_of(ctx).publish.output_dir), quiet=quiet)


@main.command("digest")
@click.option(
    "--date",
    "day",
    type=DATE,
    metavar="YYYY-MM-DD",
    help="Day of the digest (default: today in [digest].timezone).",
)
@click.option(
    "--print",
    "print_format",
    type=click.Choice(["text", "html"]),
    help="Print the digest instead of writing it under the output folder.",
)
@click.pass_context
def digest_command(ctx: click.Context, day: datetime | None, print_format: str | None) -> None:
    """Write (or print) the digest of one day from what is stored."""
    settings = settings_of(ctx)
    chosen_day = day.date() if day else today_in(settings, system_clock())
    if print_format:
        rendered = Aggregator(settings, clock=system_clock).render_digest(chosen_day)
        click.echo(rendered.text if print_format == "text" else rendered.html, nl=False)
        return
    summary = _execute(ctx, run_date=chosen_day, do_ingest=False, do_publish=False)
    if not summary.digest_days:
        click.echo(f"No entries for {chosen_day.isoformat()}: no digest written.")
    _report(summary, str(settings.publish.output_dir))
