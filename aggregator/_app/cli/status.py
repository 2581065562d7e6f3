"""``aggregator status``: every configured source's health, the last runs, the entries,
the deliveries.

Laid out for 80 columns (and pipes, cron mail): short tables of the essential columns,
with notes, reasons and server replies on lines of their own below, and every value
from a feed or the database printed through :mod:`.output`. Times are local to
``[digest].timezone``, to the minute; ``--json`` keeps the stored ISO values.

Exit codes: 0 when no source needs attention (stale and quiet sources are shown but
are not errors), 1 when a source is failing or gone, or a subscriber was not served
on the last delivery day or the ``[email] resume_days`` before it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import click

from ..._common.wording import plural
from ..._fetch import health, schedule
from ..._mail.deliver import unconfirmed_detail
from ..._update.decide import Outcome
from ...config.locate import BY_DEFAULT
from ...config.settings import Settings
from ...config.sources import Source
from ...core import SENDING, UNSERVED, Aggregator, Delivery, SourceHealth, system_clock
from .app import EXIT_OK, EXIT_SOURCES_FAILED, main, settings_of
from .output import Cell, Times, clean, echo, fields, json_text, paragraph, table, wrap

#: A state's colour on a terminal, and whether it is bold.
_STYLES = {
    health.OK: ("green", False),
    health.QUIET: ("cyan", False),
    health.STALE: ("yellow", False),
    health.RATE_LIMITED: ("yellow", False),
    health.FAILING: ("red", True),
    health.GONE: ("red", True),
}


@dataclass(frozen=True)
class SourceLine:
    """One source's health as plain values (also the --json output).

    Times are the stored ISO 8601 values (UTC, with their offset), for scripts; the
    terminal shows them local, to the minute.
    """

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
    next_attempt: str | None
    note: str
    #: A source with an ``interval``: its next planned fetch (None: at the next run)
    #: and its interval now, in seconds (moved by ``adaptive``).
    next_fetch: str | None = None
    interval_seconds: float | None = None
    #: A fetch_full_text source: articles not had yet, to try again and given up.
    articles_pending: int = 0
    articles_failed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def source_lines(
    settings: Settings,
    rows: dict[str, SourceHealth],
    states: dict[str, health.FetchState],
    days: dict[str, list[date]],
    now: datetime,
    articles: dict[str, tuple[int, int]] | None = None,
) -> list[SourceLine]:
    """Judge every configured source from what the store remembers of it
    (``articles``: per source, its articles to try again and given up)."""
    times = Times(settings.digest.timezone, now)
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
        next_attempt = state.next_attempt if state and state.next_attempt else None
        planned = schedule.plan(
            source,
            _time(row.last_success) if row else None,
            days.get(source.name, []),
        )
        note = _note(verdict, row, state, times)
        pending, failed = (articles or {}).get(source.name, (0, 0))
        if pending or failed:
            told = f"articles: {pending} to try again, {failed} given up"
            note = "; ".join(part for part in (note, told) if part)
        if planned is not None and source.enabled and verdict.flag != health.GONE:
            when = "at the next run" if planned.at is None else times.at(planned.at)
            note = "; ".join(
                part for part in (note, f"next planned fetch {when} ({planned.describe()})") if part
            )
        lines.append(
            SourceLine(
                name=source.name,
                kind=source.kind,
                flag=verdict.flag,
                location=source.location,
                last_attempt=row.last_attempt if row else None,
                last_success=row.last_success if row else None,
                http_status=state.last_status if state else None,
                consecutive_failures=row.consecutive_failures if row else 0,
                last_new_entries=row.last_new_entries if row else None,
                usual_gap_days=verdict.rhythm.days if verdict.rhythm is not None else None,
                next_attempt=next_attempt.isoformat() if next_attempt else None,
                note=note,
                next_fetch=planned.at.isoformat() if planned and planned.at else None,
                interval_seconds=planned.interval if planned else None,
                articles_pending=pending,
                articles_failed=failed,
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
    times: Times,
) -> str:
    parts: list[str] = []
    if verdict.flag == health.GONE and state is not None and state.disabled_reason:
        parts.append(f"{state.disabled_reason}; change its url in the config to try again")
    elif row is not None and row.last_error and verdict.flag != health.DISABLED:
        parts.append(row.last_error)
    if state is not None and state.next_attempt is not None and state.next_attempt > times.now:
        parts.append(f"next attempt after {times.at(state.next_attempt)}")
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


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the sources' health as JSON.")
@click.pass_context
def status_command(ctx: click.Context, as_json: bool) -> None:
    """Show sources' health, the last runs, the entries and the last deliveries.

    A source is ok, quiet (nothing new lately, as usual for it), stale (nothing new
    for over three times its usual gap), rate-limited, failing, gone (HTTP 410),
    disabled, or never fetched. A delivery a crash left unconfirmed (the server may
    have it) is shown with its Message-ID. Times are local to [digest].timezone.
    Exits 1 when a source is failing or gone, or a subscriber was not served on the
    last delivery day or the [email] resume_days before it.
    """
    settings = settings_of(ctx)
    found = Aggregator(settings, clock=system_clock).status()
    if found is None:
        paragraph("Config: {what}", what=config_used(settings))
        fields(
            "No database yet at {path}: run `aggregator run` first.", path=settings.storage.database
        )
        return
    rows, states, days = found.health, found.fetch_states, found.new_entry_days
    runs, categories, total = found.runs, found.categories, found.total
    deliveries, earlier = found.deliveries, found.earlier_unserved
    now = system_clock()
    lines = source_lines(settings, rows, states, days, now, found.articles)
    problems = [line for line in lines if line.flag in health.PROBLEMS]
    if as_json:
        echo(json_text([line.as_dict() for line in lines]))
        sys.exit(EXIT_SOURCES_FAILED if problems else EXIT_OK)
    paragraph("Database: {path}", path=settings.storage.describe())
    paragraph("Config: {what}", what=config_used(settings))
    times = Times(settings.digest.timezone, now)
    echo(f"Times are in {settings.digest.timezone}; now {times.at(now, relative=False)}.")
    _print_sources(lines, problems, times)
    _print_runs(runs, times)
    echo()
    for text in wrap(
        f"Entries: {total} in {plural(len(categories), 'category')}: "
        + ", ".join(f"{name} ({count})" for name, count in categories),
        indent=2,
        first=0,
    ):
        echo(text)
    _print_deliveries(deliveries, earlier, times)
    unserved = _print_problems(problems, deliveries, earlier)
    sys.exit(EXIT_SOURCES_FAILED if problems or unserved else EXIT_OK)


def config_used(settings: Settings) -> str:
    """The config file in use and the lookup rule that found it, in words."""
    if settings.found_by == BY_DEFAULT:
        return (
            "the embedded default (no --config, $AGGREGATOR_CONFIG, ./aggregator.toml"
            " or $XDG_CONFIG_HOME/aggregator/aggregator.toml)"
        )
    return f"{settings.origin} (from {settings.found_by})"


def _print_problems(
    problems: list[SourceLine], deliveries: list[Delivery], earlier: list[Delivery]
) -> list[Delivery]:
    """What needs attention, on standard error; returns the subscribers not served."""
    if problems:
        paragraph(
            "{count} {verb} attention: {names}",
            err=True,
            count=plural(len(problems), "source"),
            verb="needs" if len(problems) == 1 else "need",
            names=", ".join(f"{line.name} ({line.flag})" for line in problems),
        )
    unserved = [d for d in deliveries if d.state in UNSERVED] + earlier
    for day in sorted({d.day for d in unserved}, reverse=True):
        names = [d for d in unserved if d.day == day]
        paragraph(
            "{count} not served for {day}: {names}",
            err=True,
            count=plural(len(names), "subscriber"),
            day=day,
            names=", ".join(f"{d.subscriber} ({_delivery_state(d)})" for d in names),
        )
    for d in unserved:
        if d.state == SENDING:
            paragraph(
                "unconfirmed: email to {subscriber} for {day}: {detail}",
                err=True,
                subscriber=d.subscriber,
                day=d.day,
                detail=unconfirmed_detail(d.day, d.message_id),
            )
    return unserved


def _flag(flag: str) -> Cell:
    fg, bold = _STYLES.get(flag, (None, False))
    return Cell(flag, fg=fg, bold=bold)


def _print_sources(lines: list[SourceLine], problems: list[SourceLine], times: Times) -> None:
    verb = "needs" if len(problems) == 1 else "need"
    attention = f"{len(problems)} {verb} attention" if problems else "none needs attention"
    echo(f"Sources: {len(lines)} configured, {attention}")
    if not lines:
        return
    rows = [
        (line.name, _flag(line.flag), times.at(line.last_success), times.ago(line.last_new_entries))
        for line in lines
    ]
    for block in table(("source", "state", "last success", "new entries"), rows):
        for text in block:
            echo(text)
    noted = [line for line in lines if line.note or line.consecutive_failures]
    if not noted:
        return
    echo("Notes:")
    for line in noted:
        said = [f"last attempt {times.at(line.last_attempt)}"]
        if line.consecutive_failures:
            said.append(f"{plural(line.consecutive_failures, 'failure')} in a row")
        http = f"HTTP {line.http_status}"
        if line.http_status not in (None, 200, 304) and http not in line.note:
            said.append(http)
        echo(f"  {clean(line.name)}")
        for text in [*wrap(", ".join(said)), *wrap(line.note)]:
            echo(text)


def _print_runs(runs: list[dict[str, Any]], times: Times) -> None:
    if not runs:
        return
    echo()
    echo("Last runs:")
    rows = []
    for run in runs:
        s = run["summary"]
        rows.append(
            (
                f"#{run['id']}",
                times.at(run["started_at"], relative=False),
                run["run_date"],
                run["status"],
                s.get("new", ""),
                s.get("updated", ""),
                s.get(Outcome.DUPLICATE.value, ""),
                _took(s.get("stages") or {}),
            )
        )
    head, *blocks = table(
        ("run", "started", "day", "status", "new", "updated", "merged", "took"), rows
    )
    for text in head:
        echo(text)
    for run, block in zip(runs, blocks, strict=True):
        for text in block:
            echo(text)
        for reason in _run_reasons(run):
            for wrapped in wrap(reason, indent=6):
                echo(wrapped)


def _took(stages: dict[str, float]) -> str:
    """A run's time from its recorded stages ("" for runs recorded before they were)."""
    if not stages:
        return ""
    seconds = sum(stages.values())
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _run_reasons(run: dict[str, Any]) -> list[str]:
    """Why a run did not end "ok", from its record (several reasons, one line each)."""
    summary, status = run["summary"], run["status"]
    if status == "failed":
        return [f"stopped by an error: {summary.get('error') or 'not recorded'}"]
    if status == "interrupted":
        return ["killed or stopped before it finished; a later run completed its outputs"]
    if status == "running":
        return ["still running, or killed (the next run will tell)"]
    reasons = []
    failed = summary.get("failed") or {}
    if failed:
        reasons.append(f"failed sources: {', '.join(failed)}")
    for delivery in [*summary.get("resumed", []), summary.get("delivery") or {}]:
        if delivery.get("error"):
            reasons.append(f"email {delivery.get('day', '')}: {delivery['error']}")
        undelivered = [*(delivery.get("failed") or {}), *(delivery.get("unconfirmed") or [])]
        if undelivered:
            reasons.append(
                f"email {delivery.get('day', '')} not delivered to: {', '.join(undelivered)}"
            )
    return reasons


def _delivery_state(delivery: Delivery) -> str:
    # "sending" outside a running send means a crash left it: the server may have it.
    return "unconfirmed" if delivery.state == SENDING else delivery.state


def _reply(delivery: Delivery) -> str:
    if delivery.state == SENDING:
        return f"may have arrived: Message-ID {delivery.message_id}"
    return delivery.smtp_reply or ""


def _print_deliveries(last: list[Delivery], earlier: list[Delivery], times: Times) -> None:
    if last:
        _print_delivery_table(f"Last deliveries ({last[0].day}):", last, times, days=False)
    if earlier:
        _print_delivery_table("Not served on earlier days:", earlier, times, days=True)


def _print_delivery_table(title: str, shown: list[Delivery], times: Times, *, days: bool) -> None:
    echo()
    echo(title)
    rows: list[tuple[object, ...]] = []
    for d in shown:
        at = times.at(d.sent_at or d.updated_at, relative=False)
        middle = (d.day, _delivery_state(d)) if days else (_delivery_state(d), d.entries)
        rows.append((d.subscriber, *middle, d.attempts, at))
    middle_headers = ("day", "state") if days else ("state", "entries")
    head, *blocks = table(("subscriber", *middle_headers, "attempts", "at"), rows)
    for text in head:
        echo(text)
    for d, block in zip(shown, blocks, strict=True):
        for text in block:
            echo(text)
        for wrapped in wrap(_reply(d), indent=6):
            echo(wrapped)
