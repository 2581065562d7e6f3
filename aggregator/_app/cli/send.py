"""The ``send`` command, and how every command reports a delivery."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import click

from ..._mail import deliver
from ..._mail.deliver import (
    ALREADY_SENT,
    NOT_RETRIED,
    SKIPPED,
    UNCONFIRMED,
    UNSUBSCRIBED,
    WRITTEN,
    DeliveryReport,
    outbox_folder,
)
from ...config.settings import Settings
from ...core import (
    EMPTY,
    FAILED_PERMANENT,
    FAILED_TEMPORARY,
    SENT,
    Aggregator,
    system_clock,
    today_in,
)
from ...errors import ConfigError, DeliveryError
from .app import (
    DATE,
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_SOURCES_FAILED,
    fail,
    main,
    settings_of,
)

_LABELS = (
    (SENT, "sent"),
    (ALREADY_SENT, "already sent"),
    (WRITTEN, "written"),
    (EMPTY, "nothing to send"),
    (SKIPPED, "skipped"),
    (UNCONFIRMED, "unconfirmed"),
    (FAILED_TEMPORARY, "failed (will retry)"),
    (FAILED_PERMANENT, "failed permanently"),
    (NOT_RETRIED, "failed before, not retried"),
    (UNSUBSCRIBED, "unsubscribed"),
)


class _Echo(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


@contextlib.contextmanager
def mail_notices() -> Iterator[None]:
    """Print what sending says while it works (a server that cannot be reached, when
    the next attempt is) on stderr at once, as plain lines, not at the end."""
    logger = logging.getLogger(deliver.__name__)
    handler, propagate = _Echo(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # printed here; not a second time by the root's handler
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def report_delivery(report: DeliveryReport, *, quiet: bool = False) -> None:
    """A summary line, one line per subscriber, and problems on stderr.

    Subscribers with the same problem (a server that cannot be reached) share one
    line. ``quiet`` prints only the problems (for cron, which mails whatever is
    printed).
    """
    if not quiet:
        _report_lines(report)
    same: dict[tuple[str, str], list[str]] = {}
    for result in report.problems:
        what = "unconfirmed" if result.outcome == UNCONFIRMED else "failed"
        same.setdefault((what, result.detail), []).append(result.subscriber)
    for (what, detail), names in same.items():
        click.echo(f"{what}: email to {_names(names)}: {detail}", err=True)
    if report.error:
        click.echo(f"error: email: {report.error}", err=True)


def _names(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return f"{len(names)} subscribers ({shown})"


def _report_lines(report: DeliveryReport) -> None:
    counts = [f"{report.count(key)} {label}" for key, label in _LABELS if report.count(key)]
    what = "Email (dry run)" if report.dry_run else "Email"
    when = f"{report.day} (left unfinished by an earlier run)" if report.resumed else report.day
    click.echo(f"{what} {when}: " + (", ".join(counts) or "no subscribers"))
    labels = dict(_LABELS)
    for result in report.results:
        line = f"  {labels[result.outcome]}: {result.subscriber}"
        if result.outcome not in (EMPTY, UNSUBSCRIBED):
            line += f" ({result.entries} {'entry' if result.entries == 1 else 'entries'})"
        if result.detail and result.outcome in (WRITTEN, SKIPPED, ALREADY_SENT, UNSUBSCRIBED):
            line += f": {result.detail}"
        click.echo(line)


def _outbox(settings: Settings, day: date, chosen: Path | None, *, in_output: bool) -> Path:
    """The dry run's folder; one inside the output folder is bad usage (exit 2)."""
    try:
        return outbox_folder(settings, day, chosen, in_output=in_output)
    except DeliveryError as err:
        fail(err, EXIT_CONFIG)


@main.command("send")
@click.option(
    "--date",
    "day",
    type=DATE,
    metavar="YYYY-MM-DD",
    help="Day of the digest to mail (default: today in [digest].timezone).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Write each message as a .eml file (under outbox/<day>/ beside the database) "
    "instead of sending; records nothing.",
)
@click.option(
    "--outbox",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Folder for --dry-run's .eml files (default: outbox/<day> in the database's "
    "folder). Refused inside the output folder, which may be served publicly.",
)
@click.option(
    "--outbox-in-output",
    is_flag=True,
    help="Allow the outbox inside the output folder (only if nothing publishes that "
    "folder: the messages show the subscribers' addresses).",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Also retry subscribers whose server refused the message permanently (5xx).",
)
@click.option(
    "--resend-unconfirmed",
    is_flag=True,
    help="Also resend messages a crashed send left unconfirmed (they may arrive twice).",
)
@click.option(
    "--mark-unconfirmed-sent",
    is_flag=True,
    help="Record messages a crashed send left unconfirmed as sent, without sending them "
    "(when the server's log shows their Message-ID arrived).",
)
@click.pass_context
def send_command(
    ctx: click.Context,
    day: datetime | None,
    dry_run: bool,
    outbox: Path | None,
    outbox_in_output: bool,
    retry_failed: bool,
    resend_unconfirmed: bool,
    mark_unconfirmed_sent: bool,
) -> None:
    """Mail one day's digest to each subscriber, at most once per day.

    Subscribers already served that day are skipped, so running it again is safe;
    temporary failures are retried. A message a crash left unconfirmed (the server
    may have it) is reported and not resent unless asked. Exits 1 if any subscriber
    was not served.

    --dry-run writes the messages to outbox/<day> beside the database, never into
    the output folder (which may be served) unless --outbox-in-output says so.
    """
    if mark_unconfirmed_sent and (resend_unconfirmed or dry_run):
        raise click.UsageError(
            "--mark-unconfirmed-sent cannot be combined with --resend-unconfirmed or --dry-run"
        )
    if (outbox is not None or outbox_in_output) and not dry_run:
        raise click.UsageError("--outbox and --outbox-in-output go with --dry-run")
    settings = settings_of(ctx)
    if settings.email is None:
        raise ConfigError(
            "email is not configured",
            file=settings.origin,
            key="[email]",
            hint="add an [email] table and [[subscribers]]; see config/example.toml",
        )
    if not settings.subscribers:
        click.echo("No [[subscribers]] configured: nothing to send.")
        return
    chosen = day.date() if day else today_in(settings, system_clock())
    if dry_run:
        outbox = _outbox(settings, chosen, outbox, in_output=outbox_in_output)
    with mail_notices():
        report, marked = Aggregator(settings, clock=system_clock).send(
            chosen,
            mark_unconfirmed_sent=mark_unconfirmed_sent,
            dry_run=dry_run,
            outbox=outbox,
            outbox_in_output=outbox_in_output,
            retry_failed=retry_failed,
            resend_unconfirmed=resend_unconfirmed,
        )
    if mark_unconfirmed_sent:
        click.echo(
            f"Marked as sent without sending ({chosen.isoformat()}): "
            + (", ".join(marked) or "nothing was unconfirmed")
        )
    report_delivery(report)
    sys.exit(EXIT_OK if report.ok else EXIT_SOURCES_FAILED)
