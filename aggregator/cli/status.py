"""``aggregator status``: every configured source's health, the last runs, the entries,
the deliveries.

Exit codes: 0 when no source needs attention (stale and quiet sources are shown but
are not errors), 1 when a source is failing or gone, or a subscriber was not served
on the last delivery day or the ``[email] resume_days`` before it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from .. import health
from ..config import Settings
from ..deliver import unconfirmed_detail
from ..errors import AggregatorError
from ..mailconfig import EMAIL_SCHEMA
from ..pipeline import system_clock
from ..sources import Source
from ..store import Delivery, SourceHealth, Store
from ..store.deliveries import SENDING, UNSERVED
from .app import EXIT_FATAL, EXIT_OK, EXIT_SOURCES_FAILED, fail, main, settings_of

_STYLES = {
    health.OK: "green",
    health.QUIET: "cyan",
    health.STALE: "yellow",
    health.RATE_LIMITED: "yellow",
    health.FAILING: "bold red",
    health.GONE: "bold red",
}


@dataclass(frozen=True)
class SourceLine:
    """One row of the sources table, as plain values (also the --json output)."""

    name: str
    kind: str
    flag: str
    location: str
    last_attempt: str | None
    last_success: str | None
    http_status: int | None
    consecutive_failures: int
    last_new_entries: str | None
    usual_gap_days: float | None
    note: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def source_lines(
    settings: Settings,
    rows: dict[str, SourceHealth],
    states: dict[str, health.FetchState],
    days: dict[str, list[date]],
    now: datetime,
) -> list[SourceLine]:
    """Judge every configured source from what the store remembers of it."""
    lines = []
    for source in settings.sources:
        row = rows.get(source.name)
        state = _state(source, states)
        verdict = health.judge(
            enabled=source.enabled,
            last_attempt=_time(row.last_attempt) if row else None,
            consecutive_failures=row.consecutive_failures if row else 0,
            state=state,
            new_entry_days=days.get(source.name, []),
            now=now,
        )
        lines.append(
            SourceLine(
                name=source.name,
                kind=source.kind,
                flag=verdict.flag,
                location=source.location,
                last_attempt=_short(row.last_attempt) if row else None,
                last_success=_short(row.last_success) if row else None,
                http_status=state.last_status if state else None,
                consecutive_failures=row.consecutive_failures if row else 0,
                last_new_entries=_short(row.last_new_entries) if row else None,
                usual_gap_days=verdict.rhythm.days if verdict.rhythm is not None else None,
                note=_note(verdict, row, state, now),
            )
        )
    return lines


def _state(source: Source, states: dict[str, health.FetchState]) -> health.FetchState | None:
    stored = states.get(source.name)
    if source.url is None or stored is None or stored.url != source.url:
        return None
    return stored


def _note(
    verdict: health.Verdict,
    row: SourceHealth | None,
    state: health.FetchState | None,
    now: datetime,
) -> str:
    parts: list[str] = []
    if verdict.flag == health.GONE and state is not None and state.disabled_reason:
        parts.append(f"{state.disabled_reason}; change its url in the config to try again")
    elif row is not None and row.last_error and verdict.flag != health.DISABLED:
        parts.append(row.last_error)
    if state is not None and state.next_attempt is not None and state.next_attempt > now:
        parts.append(f"next attempt after {state.next_attempt:%Y-%m-%d %H:%M} UTC")
    if state is not None and state.effective_url:
        parts.append(f"moved permanently to {state.effective_url}; update its url")
    if verdict.flag == health.STALE and verdict.rhythm is not None:
        parts.append(
            f"no new entries for longer than {health.STALE_FACTOR}x its usual"
            f" {verdict.rhythm.days}-day gap; check the source still publishes there"
        )
    if verdict.flag == health.DISABLED:
        parts.append("enabled = false in the config")
    return "; ".join(parts)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _short(value: str | None) -> str | None:
    moment = _time(value)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else None


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the sources' health as JSON.")
@click.pass_context
def status_command(ctx: click.Context, as_json: bool) -> None:
    """Show sources' health, the last runs, the entries and the last deliveries.

    A source is ok, quiet (nothing new lately, as usual for it), stale (nothing new
    for over three times its usual gap), rate-limited, failing, gone (HTTP 410),
    disabled, or never fetched. A delivery a crash left unconfirmed (the server may
    have it) is shown with its Message-ID. Exits 1 when a source is failing or gone,
    or a subscriber was not served on the last delivery day or the [email]
    resume_days before it.
    """
    settings = settings_of(ctx)
    if not settings.storage.database.exists():
        click.echo(f"No database yet at {settings.storage.database}: run `aggregator run` first.")
        return
    try:
        with Store(settings.storage.database) as store:
            rows = {row.name: row for row in store.source_health()}
            states = store.fetch_states()
            days = store.new_entry_days()
            runs = store.last_runs()
            categories = store.categories()
            total = store.count_entries()
            deliveries = store.last_deliveries()
            earlier = _earlier_unserved(store, settings, deliveries)
    except AggregatorError as err:
        fail(err, EXIT_FATAL)
    lines = source_lines(settings, rows, states, days, system_clock())
    problems = [line for line in lines if line.flag in health.PROBLEMS]
    if as_json:
        click.echo(json.dumps([line.as_dict() for line in lines], indent=2, ensure_ascii=False))
        sys.exit(EXIT_SOURCES_FAILED if problems else EXIT_OK)
    # Wide enough off a terminal (cron mail, pipes) that names are never cut.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    table = Table(title="Sources", title_justify="left")
    columns = ("name", "state", "last attempt", "last success", "HTTP", "failures")
    for column in (*columns, "new entries", "note"):
        table.add_column(column, overflow="fold")
    for line in lines:
        style = _STYLES.get(line.flag, "")
        table.add_row(
            line.name,
            f"[{style}]{line.flag}[/]" if style else line.flag,
            line.last_attempt or "never",
            line.last_success or "never",
            str(line.http_status or ""),
            str(line.consecutive_failures),
            line.last_new_entries or "never",
            line.note,
        )
    console.print(table)
    runs_table = Table(title="Last runs", title_justify="left")
    for column in ("#", "started", "day", "status", "new", "updated", "duplicate", "failed"):
        runs_table.add_column(column)
    for item in runs:
        s = item["summary"]
        runs_table.add_row(
            str(item["id"]),
            item["started_at"],
            item["run_date"],
            item["status"],
            str(s.get("new", "")),
            str(s.get("updated", "")),
            str(s.get("duplicate", "")),
            ", ".join(s.get("failed", {})),
        )
    console.print(runs_table)
    click.echo(
        f"Entries: {total} in {len(categories)} categories: "
        + ", ".join(f"{name} ({count})" for name, count in categories)
    )
    _print_deliveries(console, deliveries, earlier)
    if problems:
        click.echo(
            f"{len(problems)} source(s) need attention: "
            + ", ".join(f"{line.name} ({line.flag})" for line in problems),
            err=True,
        )
    unserved = [d for d in deliveries if d.state in UNSERVED] + earlier
    for day in sorted({d.day for d in unserved}, reverse=True):
        names = [d for d in unserved if d.day == day]
        click.echo(
            f"{len(names)} subscriber(s) not served for {day}: "
            + ", ".join(f"{d.subscriber} ({_delivery_state(d)})" for d in names),
            err=True,
        )
    for d in unserved:
        if d.state == SENDING:
            click.echo(
                f"unconfirmed: email to {d.subscriber} for {d.day}:"
                f" {unconfirmed_detail(d.day, d.message_id)}",
                err=True,
            )
    sys.exit(EXIT_SOURCES_FAILED if problems or unserved else EXIT_OK)


def _earlier_unserved(store: Store, settings: Settings, last: list[Delivery]) -> list[Delivery]:
    """Subscribers not served on the ``resume_days`` before the last delivery day."""
    if not last:
        return []
    window = settings.email.resume_days if settings.email else int(EMAIL_SCHEMA["resume_days"][1])
    day = last[0].day
    return store.deliveries_between(day - timedelta(days=window), day, states=UNSERVED)


def _delivery_state(delivery: Delivery) -> str:
    # "sending" outside a running send means a crash left it: the server may have it.
    return "unconfirmed" if delivery.state == SENDING else delivery.state


def _reply(delivery: Delivery) -> str:
    if delivery.state == SENDING:
        return f"may have arrived: Message-ID {delivery.message_id}"
    return delivery.smtp_reply or ""


def _print_deliveries(console: Console, last: list[Delivery], earlier: list[Delivery]) -> None:
    if last:
        mail = Table(title=f"Last deliveries ({last[0].day})", title_justify="left")
        for column in ("subscriber", "state", "entries", "attempts", "at", "server reply"):
            mail.add_column(column, overflow="fold")
        for d in last:
            mail.add_row(
                d.subscriber,
                _delivery_state(d),
                str(d.entries),
                str(d.attempts),
                d.sent_at or d.updated_at,
                _reply(d),
            )
        console.print(mail)
    if earlier:
        table = Table(title="Not served on earlier days", title_justify="left")
        for column in ("day", "subscriber", "state", "attempts", "at", "server reply"):
            table.add_column(column, overflow="fold")
        for d in earlier:
            table.add_row(
                str(d.day),
                d.subscriber,
                _delivery_state(d),
                str(d.attempts),
                d.updated_at,
                _reply(d),
            )
        console.print(table)
