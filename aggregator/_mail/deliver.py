"""Delivery: one digest message per subscriber per day, sent exactly once.

Owns the sending loop over the delivery log (``_storage/sqlite/deliveries.py``): what
to send, retrying temporary failures with backoff, recording each outcome, and turning
a message that cannot be composed into that subscriber's failure rather than the
run's. Never renders (``.digest`` does), never composes headers (``.message`` does)
and never speaks SMTP itself (``.smtp`` does).

Exactly once, and the window that remains: the day's plan (a ``pending`` row per
subscriber with mail) is recorded first, in one transaction. A subscriber's row is
set to ``sending`` in its own transaction when the server has the whole message but
not the final dot that hands it over, and to ``sent`` after the server's 250 to that
dot. A crash before the claim leaves ``pending`` and a message without an end, which
the server drops: the next send sends it. A crash after the claim and before ``sent``
is committed leaves ``sending``: the message may have been delivered, and no client
can know. The next send does not resend it but reports it as unconfirmed, with its
Message-ID to look for in the server's log; ``send --resend-unconfirmed`` sends it
again, ``send --mark-unconfirmed-sent`` records it as delivered. We choose
at-most-once for crashes because a duplicate digest annoys every reader while a
missing one can be resent by hand; the Message-ID is the same on a resend, so
clients that deduplicate by it show one message anyway. A connection lost before
the server's final reply is different: a server takes responsibility only with that
reply (RFC 5321 6.1), so that is retried like any temporary failure.

Test hooks (:mod:`.faults`): ``send[:<address>]`` pauses just before the claim (the
message is with the server, its end is not), ``send-accepted[:<address>]`` just
after the server's 250 and before ``sent`` is recorded.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from .._common import faults
from .._common.safety import one_line
from .._output import publish
from .._output.digest import Digest, ranked
from .._storage.protocol import Storage
from .._storage.sqlite.deliveries import (
    EMPTY,
    FAILED_PERMANENT,
    FAILED_TEMPORARY,
    PENDING,
    SENDING,
    SENT,
    Delivery,
)
from .._storage.sqlite.subscribers import Unsubscribe
from ..config.mail import EmailSettings, Subscriber, ascii_address
from ..config.settings import Settings
from ..errors import DeliveryError, SmtpError
from ..types import Clock, Personal
from . import unsubscribe
from .digest import render_email, select
from .message import build_message, message_id, needs_smtputf8
from .smtp import Mailer, SmtpMailer

log = logging.getLogger(__name__)

MailerFactory = Callable[[EmailSettings, str | None], Mailer]

#: Longest wait between two retry rounds, in seconds.
MAX_BACKOFF = 600.0

#: Seconds to wait before trying again to reach a server that could not be reached
#: (connection refused, no route, no answer). Short, since the run can do nothing else
#: meanwhile, and few, since the next run or ``send`` tries again anyway: a server
#: being restarted is back within them, a wrong port or a server that is down is
#: reported within seconds instead of minutes of silent backoff.
CONNECT_RETRY_DELAYS = (1.0, 4.0)

# -- the delivery report ------------------------------------------------------------------

#: Outcomes in a DeliveryResult besides the log's states.
ALREADY_SENT = "already-sent"
UNCONFIRMED = "unconfirmed"
SKIPPED = "skipped"
#: Refused permanently by an earlier send and not tried again (``--retry-failed`` does).
NOT_RETRIED = "not-retried"
WRITTEN = "written"
#: The subscriber unsubscribed (one-click, by mail or by hand): never mailed again.
UNSUBSCRIBED = "unsubscribed"


@dataclass
class DeliveryResult:
    subscriber: str
    #: sent, failed-temporary, failed-permanent, empty, already-sent, unconfirmed,
    #: not-retried (failed permanently before), skipped (taken by another process),
    #: written, unsubscribed.
    outcome: str
    entries: int = 0
    detail: str = ""


@dataclass
class DeliveryReport:
    """What one ``send`` did for one day."""

    day: str
    results: list[DeliveryResult] = field(default_factory=list)
    #: A problem that stopped sending altogether (cannot log in, TLS failed, ...).
    error: str | None = None
    dry_run: bool = False
    #: Finishing what an earlier run left (``run`` on a later day), not the run's day.
    resumed: bool = False

    def count(self, *outcomes: str) -> int:
        return sum(1 for r in self.results if r.outcome in outcomes)

    @property
    def problems(self) -> list[DeliveryResult]:
        """Subscribers not served: failed (now or before), or unconfirmed after a crash."""
        bad = (FAILED_TEMPORARY, FAILED_PERMANENT, NOT_RETRIED, UNCONFIRMED)
        return [r for r in self.results if r.outcome in bad]

    @property
    def ok(self) -> bool:
        return self.error is None and not self.problems

    def as_dict(self) -> dict[str, object]:
        return {
            "day": self.day,
            "sent": self.count(SENT),
            "failed": {r.subscriber: r.detail for r in self.problems},
            "unconfirmed": [r.subscriber for r in self.results if r.outcome == UNCONFIRMED],
            "error": self.error,
        }


# -- sending ------------------------------------------------------------------------------


@dataclass
class _Planned:
    subscriber: Subscriber
    message: bytes
    entries: int
    smtputf8: bool
    #: Entries shown per category when the HTML had to be cut; None when all are.
    limit: int | None = None


def _compose(
    chosen: Digest,
    subscriber: Subscriber,
    email: EmailSettings,
    *,
    base_url: str,
    now: datetime,
    feed_url: str | None = None,
    token: str | None = None,
) -> _Planned:
    content = render_email(
        chosen,
        subscriber=subscriber,
        settings=email,
        base_url=base_url,
        feed_url=feed_url,
        token=token,
    )
    msg = build_message(
        chosen, content, subscriber=subscriber, settings=email, now=now, token=token
    )
    return _Planned(
        subscriber,
        msg.as_bytes(),
        chosen.entry_count,
        needs_smtputf8(email, subscriber),
        content.limit,
    )


def _compose_failure(err: Exception, day: date) -> str:
    return one_line(
        f"could not compose the message ({type(err).__name__}: {err}); not sent."
        f" `aggregator -v send --date {day.isoformat()} --retry-failed` tries again and"
        " shows where it failed"
    )


def outbox_folder(
    settings: Settings, day: date, outbox: Path | None = None, *, in_output: bool = False
) -> Path:
    """Where a dry run writes its ``.eml`` files: ``outbox``, else ``outbox/<day>`` beside
    the database.

    Never inside the output folder unless ``in_output``: whatever serves that folder
    (``serve``, a web server) would publish the subscribers' addresses and messages.
    Raises DeliveryError.
    """
    folder = outbox if outbox is not None else settings.storage.database.parent / "outbox"
    if outbox is None:
        folder = folder / day.isoformat()
    output = settings.publish.output_dir
    if not in_output and folder.resolve().is_relative_to(output.resolve()):
        given = "--outbox" if outbox is not None else "the default outbox (beside the database)"
        raise DeliveryError(
            f"{given} {folder} is inside the output folder {output}, which may be served"
            " publicly: the messages show the subscribers' addresses",
            hint="give --outbox DIR outside it, or --outbox-in-output if that folder is"
            " not published",
        )
    return folder


def outbox_name(subscriber: str) -> str:
    """A file name for a subscriber's .eml (the address, with unsafe characters replaced)."""
    return re.sub(r"[^\w@.+-]", "_", subscriber) + ".eml"


def _password(settings: EmailSettings) -> str | None:
    if settings.password_env is None:
        return None
    value = os.environ.get(settings.password_env)
    if value is None:
        raise DeliveryError(
            f"[email] password_env: the environment variable {settings.password_env} is not set;"
            " no digest was sent",
            hint=f"set {settings.password_env} in the environment of aggregator (the cron"
            " job or service), or remove username and password_env",
        )
    return value


def send_digest(
    settings: Settings,
    store: Storage,
    digest: Digest,
    *,
    clock: Clock,
    dry_run: bool = False,
    outbox: Path | None = None,
    outbox_in_output: bool = False,
    retry_failed: bool = False,
    resend_unconfirmed: bool = False,
    only: Collection[str] | None = None,
    retries: int | None = None,
    resumed: bool = False,
    mailer_factory: MailerFactory = SmtpMailer,
    sleep: Callable[[float], None] = time.sleep,
    personal: Mapping[str, Personal] | None = None,
) -> DeliveryReport:
    """Send each subscriber their part of ``digest``, at most once per day.

    ``personal``: per subscriber address, where each entry stands for them (their
    part is listed in that order, with the reasons) and their personal feed's URL.

    ``dry_run`` writes the messages as ``.eml`` files under ``outbox`` (default
    ``outbox/<day>/`` beside the database; see :func:`outbox_folder`, whose
    DeliveryError this raises) and neither sends nor records anything.
    ``only`` limits the send to these subscribers (the others are not mentioned);
    ``retries`` overrides ``[email] max_retries`` for this send; ``resumed`` marks
    the report as finishing an earlier run's day.
    Failures are results in the report, never exceptions: per subscriber, or in
    ``report.error`` when nothing could be sent (no password, no login, no TLS).
    """
    email = settings.email
    if email is None:
        raise DeliveryError("email is not configured", hint="add an [email] table")
    day = digest.day
    folder = outbox_folder(settings, day, outbox, in_output=outbox_in_output) if dry_run else None
    report = DeliveryReport(day=day.isoformat(), dry_run=dry_run, resumed=resumed)
    log_rows = {} if dry_run else store.deliveries_for_day(day)
    secret = None
    if email.unsubscribe_url is not None or email.unsubscribe_mailto is not None:
        generated = None if email.unsubscribe_secret_env else store.secret(unsubscribe.SECRET_NAME)
        secret = unsubscribe.secret_for(email, generated)
    sendable = _sendable(retry_failed, resend_unconfirmed)
    sending = _Sending(store, email, day, sendable, clock, store.unsubscribes(), secret)
    now = clock()
    plan = _plan(
        settings, digest, log_rows, sending, only=only, folder=folder, now=now, personal=personal
    )
    report.results += plan.results
    if dry_run:
        return report
    _record_plan(plan, sending, now)
    if not plan.queue:
        return report
    retries = email.max_retries if retries is None else retries
    _send_queue(plan.queue, report, sending, retries, mailer_factory=mailer_factory, sleep=sleep)
    return _in_config_order(report, settings)


@dataclass(frozen=True)
class _Sending:
    """What every attempt of one send shares: where it records, which day, the states a
    subscriber's row may be sent from, the clock and the email settings."""

    store: Storage
    email: EmailSettings
    day: date
    sendable: tuple[str, ...]
    clock: Clock
    #: Who unsubscribed (by lower-case address): never mailed.
    unsubscribed: Mapping[str, Unsubscribe] = field(default_factory=dict)
    #: The key that signs unsubscribe links; None when the config has none to sign.
    secret: str | None = None


def _sendable(retry_failed: bool, resend_unconfirmed: bool) -> tuple[str, ...]:
    """The delivery log states a message is sent from (again)."""
    sendable: tuple[str, ...] = (PENDING, FAILED_TEMPORARY, EMPTY)
    if retry_failed:
        sendable += (FAILED_PERMANENT,)
    if resend_unconfirmed:
        sendable += (SENDING,)
    return sendable


@dataclass
class _Plan:
    """A send decided subscriber by subscriber, before anything is sent or recorded."""

    #: What is known already (sent before, not retried, not composed, nothing matched,
    #: written to the outbox), in config order.
    results: list[DeliveryResult] = field(default_factory=list)
    #: The messages to send, and their rows for the log: (subscriber, entries, Message-ID).
    queue: list[_Planned] = field(default_factory=list)
    due: list[tuple[str, int, str]] = field(default_factory=list)
    #: (subscriber, why) for messages that could not be composed.
    broken: list[tuple[str, str]] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)


def _plan(
    settings: Settings,
    digest: Digest,
    log_rows: dict[str, Delivery],
    sending: _Sending,
    *,
    only: Collection[str] | None,
    folder: Path | None,
    now: datetime,
    personal: Mapping[str, Personal] | None = None,
) -> _Plan:
    """What to do for each subscriber; a dry run (``folder``) writes the messages there."""
    plan = _Plan()
    for subscriber in settings.subscribers:
        if only is not None and subscriber.email not in only:
            continue
        gone = sending.unsubscribed.get(subscriber.email.lower())
        if gone is not None:
            detail = f"on {gone.unsubscribed_at[:10]} ({gone.via})"
            plan.results.append(DeliveryResult(subscriber.email, UNSUBSCRIBED, 0, detail))
            continue
        row = log_rows.get(subscriber.email)
        prepared = _known(row, sending) or _prepare(
            digest,
            subscriber,
            sending,
            base_url=settings.publish.base_url,
            now=now,
            personal=(personal or {}).get(subscriber.email),
        )
        if isinstance(prepared, DeliveryResult):
            plan.results.append(prepared)
            if prepared.outcome == FAILED_PERMANENT:
                plan.broken.append((subscriber.email, prepared.detail))
            elif prepared.outcome == EMPTY:
                plan.empty.append(subscriber.email)
        elif folder is not None:
            plan.results.append(_write_to_outbox(folder, prepared))
        else:
            day = sending.day.isoformat()
            mid = message_id(day, subscriber.email, sending.email)
            plan.due.append((subscriber.email, prepared.entries, mid))
            plan.queue.append(prepared)
    return plan


def _known(row: Delivery | None, sending: _Sending) -> DeliveryResult | None:
    """The result of a subscriber whose log row says not to send: sent, or not to retry."""
    if row is None:
        return None
    day = sending.day
    if row.state == SENT:
        return DeliveryResult(row.subscriber, ALREADY_SENT, row.entries, f"at {row.sent_at}")
    if row.state in sending.sendable:
        return None
    outcome = UNCONFIRMED if row.state == SENDING else NOT_RETRIED
    detail = (
        unconfirmed_detail(day, row.message_id)
        if row.state == SENDING
        else f"failed permanently before, not retried: {row.smtp_reply}"
        f" (`aggregator send --date {day.isoformat()} --retry-failed` tries again)"
    )
    return DeliveryResult(row.subscriber, outcome, row.entries, detail)


def _prepare(
    digest: Digest,
    subscriber: Subscriber,
    sending: _Sending,
    *,
    base_url: str,
    now: datetime,
    personal: Personal | None = None,
) -> _Planned | DeliveryResult:
    """The subscriber's message; a result instead when nothing matched or composing failed."""
    email = sending.email
    try:
        chosen = select(digest, subscriber)
        if chosen.is_empty and not email.send_empty:
            return DeliveryResult(subscriber.email, EMPTY, 0, "nothing matched")
        if personal is not None:
            chosen = ranked(chosen, personal.ranks)
        feed_url = personal.feed_url if personal is not None else None
        token = (
            None
            if sending.secret is None
            else unsubscribe.token_for(sending.secret, subscriber.email)
        )
        return _compose(
            chosen, subscriber, email, base_url=base_url, now=now, feed_url=feed_url, token=token
        )
    except Exception as err:
        # Whatever the stored data or a bug does to one message, it is this
        # subscriber's failure, reported; the others still get theirs.
        detail = _compose_failure(err, sending.day)
        log.info("email to %s: %s", subscriber.email, detail, exc_info=True)
        return DeliveryResult(subscriber.email, FAILED_PERMANENT, 0, detail)


def _write_to_outbox(folder: Path, planned: _Planned) -> DeliveryResult:
    """A dry run's message, written as an ``.eml`` file instead of sent."""
    path = folder / outbox_name(planned.subscriber.email)
    publish.write_atomic(path, planned.message)
    note = f"{path}"
    if planned.limit is not None:
        note += f" (cut to {planned.limit} per category to fit)"
    return DeliveryResult(planned.subscriber.email, WRITTEN, planned.entries, note)


def _record_plan(plan: _Plan, sending: _Sending, now: datetime) -> None:
    """The day's plan in the log: a row per message to send, failed for the broken ones."""
    day, store = sending.day, sending.store
    due = plan.due + [
        (address, 0, message_id(day.isoformat(), address, sending.email))
        for address, _ in plan.broken
    ]
    if due or plan.empty:
        store.plan_day(day, due=due, empty=plan.empty, now=now)
    for address, detail in plan.broken:
        store.finish_delivery(
            day, address, state=FAILED_PERMANENT, reply=detail, now=now, count_attempt=True
        )


def unconfirmed_detail(day: date, message_id: str | None) -> str:
    """What to tell about a message a crash left ``sending``, and what the admin can do."""
    return (
        "sending stopped after the message was handed to the server and before its reply"
        f" was recorded, so it may have arrived; not resent. Look for Message-ID {message_id}"
        f" in the server's log, then `aggregator send --date {day.isoformat()}"
        " --mark-unconfirmed-sent` (it arrived) or `--resend-unconfirmed` (it did not)"
    )


def _send_queue(
    queue: list[_Planned],
    report: DeliveryReport,
    sending: _Sending,
    retries: int,
    *,
    mailer_factory: MailerFactory,
    sleep: Callable[[float], None],
) -> None:
    """Connect and send the queued messages, or report why none could be tried."""
    try:
        password = _password(sending.email)
    except DeliveryError as err:
        # Nothing was tried: the rows stay "pending" for the next send.
        report.error = err.describe()
        report.results += [
            DeliveryResult(p.subscriber.email, FAILED_TEMPORARY, p.entries, "not sent")
            for p in queue
        ]
        return
    mailer = mailer_factory(sending.email, password)
    try:
        _send_rounds(queue, report, sending, retries=retries, mailer=mailer, sleep=sleep)
    finally:
        mailer.close()


def _in_config_order(report: DeliveryReport, settings: Settings) -> DeliveryReport:
    order = {s.email: i for i, s in enumerate(settings.subscribers)}
    report.results.sort(key=lambda r: order.get(r.subscriber, len(order)))
    return report


def _send_rounds(
    queue: list[_Planned],
    report: DeliveryReport,
    sending: _Sending,
    *,
    retries: int,
    mailer: Mailer,
    sleep: Callable[[float], None],
) -> None:
    """Try every queued message; retry what failed for now, saying when before each wait.

    A message refused for now (4xx, a connection lost mid-message) is tried again in
    up to ``retries`` more rounds, ``backoff`` seconds apart and doubling. A server
    that cannot be reached is one problem for everybody, not one per subscriber: it
    is tried again after :data:`CONNECT_RETRY_DELAYS` (no more of them than
    ``retries``), then sending stops with one error, and the messages stay
    failed-temporary for the next send.
    """
    final: dict[str, DeliveryResult] = {}
    rounds = 0
    unreachable = 0
    while True:
        queue, lost = _send_round(queue, report, final, sending, mailer)
        if not queue or report.error is not None:
            break
        if lost is not None:
            unreachable += 1
            if unreachable > min(retries, len(CONNECT_RETRY_DELAYS)):
                report.error = _unreachable(lost, unreachable, len(queue), sending.day)
                break
            delay = CONNECT_RETRY_DELAYS[unreachable - 1]
            what = lost.describe() if unreachable == 1 else lost.message
        else:
            rounds += 1
            if rounds > retries:
                break
            delay = min(sending.email.backoff * 2 ** (rounds - 1), MAX_BACKOFF)
            first = final[queue[0].subscriber.email].detail
            what = f"{_messages(len(queue))} failed for now ({first})"
        when = (sending.clock() + timedelta(seconds=delay)).astimezone().strftime("%H:%M:%S")
        log.warning("email: %s; next attempt at %s", what, when)
        sleep(delay)
    report.results.extend(final.values())


def _send_round(
    queue: list[_Planned],
    report: DeliveryReport,
    final: dict[str, DeliveryResult],
    sending: _Sending,
    mailer: Mailer,
) -> tuple[list[_Planned], SmtpError | None]:
    """One try at each queued message, results into ``final``.

    Returns what to try again, and the error when the server could not be reached
    for now (a connection or login failure: nobody still waiting can be served). A
    permanent session failure is ``report.error``, and nothing is tried again.
    """
    retry: list[_Planned] = []
    for index, item in enumerate(queue):
        try:
            result = _attempt(item, sending, mailer)
        except SmtpError as err:
            waiting = queue[index:]
            for other in waiting:
                final[other.subscriber.email] = _not_sent(other, err, sending)
            if err.temporary:
                return retry + waiting, err
            report.error = err.describe()
            return retry, None
        final[item.subscriber.email] = result
        if result.outcome == FAILED_TEMPORARY:
            retry.append(item)
    return retry, None


def _not_sent(item: _Planned, err: SmtpError, sending: _Sending) -> DeliveryResult:
    """A message not tried because the session failed: failed for now, in the log too."""
    address = item.subscriber.email
    sending.store.finish_delivery(
        sending.day,
        address,
        state=FAILED_TEMPORARY,
        code=err.code,
        reply=err.message,
        now=sending.clock(),
        count_attempt=True,
    )
    return DeliveryResult(address, FAILED_TEMPORARY, item.entries, f"not sent: {err.message}")


def _messages(count: int) -> str:
    return f"{count} message{'' if count == 1 else 's'}"


def _unreachable(err: SmtpError, attempts: int, waiting: int, day: date) -> str:
    """The one error of a send whose server could not be reached."""
    tries = f"{attempts} attempt{'' if attempts == 1 else 's'}"
    return (
        f"{err.message} after {tries}; {_messages(waiting)} left for the next `run` (within"
        f" [email] resume_days) or `aggregator send --date {day.isoformat()}`"
        + (f" ({err.hint})" if err.hint else "")
    )


def _attempt(item: _Planned, sending: _Sending, mailer: Mailer) -> DeliveryResult:
    """One try at one subscriber, recorded. Raises SmtpError only if the session failed."""
    store, email, day, clock = sending.store, sending.email, sending.day, sending.clock
    address = item.subscriber.email
    claimed = False

    def claim() -> bool:
        # The server has all but the final dot. Until the claim commits, a crash
        # leaves the row as it was (the server drops the unfinished message); from
        # then on it leaves "sending", never a resend.
        nonlocal claimed
        faults.pause_point("send", address)
        claimed = store.claim_delivery(day, address, from_states=sending.sendable, now=clock())
        return claimed

    sender = email.sender.addr_spec
    try:
        reply = mailer.send(
            sender if item.smtputf8 else ascii_address(sender),
            address if item.smtputf8 else ascii_address(address),
            item.message,
            smtputf8=item.smtputf8,
            before_end=claim,
        )
    except SmtpError as err:
        if err.session:
            raise
        state = FAILED_TEMPORARY if err.temporary else FAILED_PERMANENT
        store.finish_delivery(
            day,
            address,
            state=state,
            code=err.code,
            reply=err.message,
            now=clock(),
            count_attempt=not claimed,
        )
        return DeliveryResult(address, state, item.entries, err.describe())
    if reply is None:
        return DeliveryResult(address, SKIPPED, item.entries, "being sent by another process")
    # The server has the message; a crash before the next line leaves "sending".
    faults.pause_point("send-accepted", address)
    answer = f"{reply.code} {reply.text}"
    store.finish_delivery(day, address, state=SENT, code=reply.code, reply=answer, now=clock())
    return DeliveryResult(address, SENT, item.entries, answer)
