"""The summariser enricher: fills the summary cache for a run's new entries, within
the run's budget, and what the outputs show for an entry.

A summary is cached by the entry's content hash and the *variant* (provider, model,
language, prompt version): a paper filed under five categories, mailed to fifty
subscribers and seen again by every rerun is asked for once, and again only when its
text changes (a new arXiv version has a new hash). Entries that arrived with sections
of their own (the Markdown daily list) keep them and are never sent.

The budget holds however the server behaves: at most ``max_entries_per_run``
entries and ``max_tokens_per_run`` tokens, and ``max_seconds`` in all (a 429's
``Retry-After`` included); a server that is not there, refuses the key or fails three
times running is not asked again this run. Whatever is not summarised keeps the
extractive TL;DR, and the run reports it once, with what to do.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx

from ..._common.wording import plural
from ..._update.normalize import html_to_text
from ...config.summaries import SummariesSettings
from ...types import Clock, StoredEntry, Summary
from . import extractive
from .server import PROMPT_VERSION, ChatClient, ServerProblem

if TYPE_CHECKING:
    from ..._storage.protocol import Storage

#: Failures in a row (5xx, timeouts) after which the server is not asked again this run.
FAILURES_TO_STOP = 3
#: The wait before asking again after a 5xx or a timeout, and after a 429 that did
#: not say how long (doubled each time).
RETRY_PAUSE = 1.0
#: Summaries are written to the database in groups of this many as they come back:
#: a run killed half way keeps what it paid for.
SAVE_EVERY = 16


def variant_of(settings: SummariesSettings) -> str | None:
    """The cache key part naming who writes the summaries, or None when nothing is
    cached (the extractive provider is computed when shown; "none" shows none)."""
    if not settings.uses_server:
        return None
    return f"openai-compatible|{settings.model}|{settings.language}|p{PROMPT_VERSION}"


def wants_summary(entry: StoredEntry) -> bool:
    """Entries with sections of their own keep them; entries without text have none."""
    return not entry.sections and bool(entry.summary or entry.content)


def summary_for(
    entry: StoredEntry, cached: Mapping[str, Summary], settings: SummariesSettings
) -> Summary | None:
    """What the digest and the feeds show for ``entry``: the cached server summary of
    its current text, else the extractive one; None with ``provider = "none"`` and for
    entries with their own sections."""
    if settings.provider == "none" or entry.sections:
        return None
    found = cached.get(entry.content_hash)
    if found is not None:
        return found
    return extractive.summarise(entry.summary or entry.content)


@dataclass
class SummaryReport:
    """What the summariser did in one run, for the run's output."""

    provider: str
    written: int = 0
    cached: int = 0
    #: Entries left with the extractive TL;DR, by reason ("budget", "malformed", ...).
    fell_back: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    retries: int = 0
    tokens: int = 0
    seconds: float = 0.0
    #: Why the server was not asked again, with what to do (said once).
    stopped: str | None = None
    #: Other things to act on, said once each (a malformed reply, a budget reached).
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The run output's lines (nothing when there was nothing to summarise)."""
        fell = sum(self.fell_back.values())
        if not (self.written or self.cached or fell or self.stopped):
            return []
        line = (
            f"Summaries: {self.written} written by {self.provider}"
            f" ({plural(self.calls, 'call')}, {self.tokens:,} tokens, {self.seconds:.1f} s)"
        )
        if self.cached:
            line += f", {self.cached} already cached"
        if fell:
            why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.fell_back.items()))
            line += f", {fell} kept the extractive TL;DR ({why})"
        out = [line]
        if self.stopped:
            out.append(f"summaries: {self.stopped}")
        out.extend(f"summaries: {problem}" for problem in self.problems)
        return out


class _Budget:
    """What the workers share: time, tokens, the stop and the rate-limit pause."""

    def __init__(self, settings: SummariesSettings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        self.deadline = clock() + settings.max_seconds
        self.lock = threading.Lock()
        self.tokens = 0
        self.calls = 0
        self.retries = 0
        self.failures_in_a_row = 0
        self.not_before = 0.0
        self.stopped: str | None = None
        #: The short reason every entry not asked after the stop is counted under.
        self.label = ""

    def stop(self, why: str, label: str) -> str:
        """Ask no more this run; returns the label to count the entry under."""
        with self.lock:
            if self.stopped is None:
                self.stopped, self.label = why, label
            return self.label

    def left(self) -> float:
        return self.deadline - self.clock()


@dataclass
class _Tries:
    """What was tried for one entry: one more try after a bad reply or a failure."""

    malformed: bool = False
    transient: bool = False
    waits: int = 0


class Summariser:
    """The ``[summaries]`` enricher (see the module docstring).

    ```client``, ``environ``, ``now`` (the wall clock, for the cache's
    record), ``clock`` (monotonic seconds) and ``sleep`` are injected
    so that tests drive time and the server; the defaults are the real ones.
    """

    def __init__(
        self,
        settings: SummariesSettings,
        *,
        client: httpx.Client | None = None,
        environ: Mapping[str, str] = os.environ,
        now: Clock = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.now = now
        self.client = client
        self.environ = environ
        self.clock = clock
        self.sleep = sleep
        self.report = SummaryReport(provider=f"openai-compatible/{settings.model}")
        self._lock = threading.Lock()

    def enrich(self, entries: Sequence[StoredEntry], store: Storage) -> list[str]:
        """Summarise those of ``entries`` not cached yet; the run output's lines."""
        variant = variant_of(self.settings)
        if variant is None:
            return []
        report = self.report = SummaryReport(provider=f"openai-compatible/{self.settings.model}")
        wanted = _unique_texts(entry for entry in entries if wants_summary(entry))
        cached = store.summaries_of(list(wanted), variant=variant)
        report.cached = len(cached)
        todo = [entry for digest, entry in wanted.items() if digest not in cached]
        if not todo:
            return report.lines()
        limit = self.settings.max_entries_per_run
        if len(todo) > limit:
            report.fell_back["over max_entries_per_run"] += len(todo) - limit
            report.problems.append(
                f"{len(todo) - limit} new entries over [summaries] max_entries_per_run"
                f" = {limit} keep the extractive TL;DR (raise it to summarise more per run)"
            )
            todo = todo[:limit]
        api_key = self._api_key(report)
        if report.stopped:
            report.fell_back["no API key"] += len(todo)
            return report.lines()
        started = self.clock()
        budget = _Budget(self.settings, self.clock)
        client = self.client or httpx.Client()
        try:
            self._ask(
                ChatClient(self.settings, api_key=api_key, client=client),
                todo,
                store,
                variant,
                budget,
            )
        finally:
            if self.client is None:
                client.close()
        report.calls, report.retries, report.tokens = budget.calls, budget.retries, budget.tokens
        report.seconds = self.clock() - started
        report.stopped = budget.stopped
        return report.lines()

    def _api_key(self, report: SummaryReport) -> str | None:
        name = self.settings.api_key_env
        if not name:
            return None
        key = self.environ.get(name, "").strip()
        if not key:
            report.stopped = (
                f"${name} is not set (named by [summaries] api_key_env): export it, or remove"
                " api_key_env for a server that needs no key"
            )
            return None
        return key

    def _ask(
        self,
        chat: ChatClient,
        todo: list[StoredEntry],
        store: Storage,
        variant: str,
        budget: _Budget,
    ) -> None:
        report = self.report
        done: list[tuple[str, Summary]] = []
        with ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="summary") as pool:
            futures = {pool.submit(self._one, chat, entry, budget): entry for entry in todo}
            for future in as_completed(futures):
                entry = futures[future]
                summary, why = future.result()
                if summary is None:
                    report.fell_back[why] += 1
                    continue
                report.written += 1
                done.append((entry.content_hash, summary))
                if len(done) >= SAVE_EVERY:
                    store.save_summaries(done, variant=variant, now=self.now())
                    done = []
        if done:
            store.save_summaries(done, variant=variant, now=self.now())

    def _one(
        self, chat: ChatClient, entry: StoredEntry, budget: _Budget
    ) -> tuple[Summary | None, str]:
        """One entry's summary, or None and why not (never raises)."""
        plain = " ".join(html_to_text(entry.summary or entry.content or "").split())
        tries = _Tries()
        while True:
            why = self._may_ask(budget)
            if why:
                return None, why
            with budget.lock:
                budget.calls += 1
            timeout = min(self.settings.timeout, budget.left())
            try:
                reply = chat.summarise(entry.title, plain, timeout=timeout)
            except ServerProblem as problem:
                with budget.lock:
                    budget.tokens += problem.tokens
                why = self._after(problem, tries, budget)
                if why:
                    return None, why
                continue
            with budget.lock:
                budget.tokens += reply.tokens
                budget.failures_in_a_row = 0
            return reply.summary, ""

    def _may_ask(self, budget: _Budget) -> str:
        """ "" when the budget allows one more request (after any 429 pause), else why not."""
        if budget.stopped:
            return budget.label
        pause = budget.not_before - self.clock()
        if pause > 0:
            if pause >= budget.left():
                why = (
                    f"the server asked to wait {pause:.0f} s (HTTP 429), longer than is left"
                    " of [summaries] max_seconds: ask again next run, raise max_seconds,"
                    " or lower concurrency"
                )
                return budget.stop(why, "rate limited")
            self.sleep(pause)
        if budget.left() <= 0.5:
            why = (
                f"[summaries] max_seconds = {self.settings.max_seconds:g} ran out: raise it,"
                " or lower max_entries_per_run"
            )
            return budget.stop(why, "out of time")
        cap = self.settings.max_tokens_per_run
        if cap and budget.tokens >= cap:
            why = f"[summaries] max_tokens_per_run = {cap:,} reached: raise it to summarise more"
            return budget.stop(why + " per run", "token budget")
        return ""

    def _after(self, problem: ServerProblem, tries: _Tries, budget: _Budget) -> str:
        """ "" to ask again for the same entry after ``problem``, else why not."""
        if problem.kind == "fatal":
            return budget.stop(problem.describe(), "server unusable")
        if problem.kind == "malformed":
            if not tries.malformed:
                tries.malformed = True
                self._retry(budget)
                return ""
            self._note(
                f"replies unusable twice for one entry ({problem.message}): is the model"
                ' able to follow a JSON schema? try response_format = "json_object"'
            )
            return "malformed reply"
        if problem.kind == "rate-limited":
            tries.waits += 1
            wait = problem.retry_after or RETRY_PAUSE * 2**tries.waits
            with budget.lock:
                budget.not_before = max(budget.not_before, self.clock() + wait)
                budget.retries += 1
            return "rate limited" if tries.waits > 4 else ""
        # transient: a 5xx, a timeout, a dropped connection.
        with budget.lock:
            budget.failures_in_a_row += 1
            failing = budget.failures_in_a_row >= FAILURES_TO_STOP
        if failing:
            why = (
                f"{problem.message}, {FAILURES_TO_STOP} times in a row: not asked again"
                " this run (is the server overloaded? lower concurrency or raise timeout)"
            )
            return budget.stop(why, "server failing")
        if tries.transient:
            return "server failing"
        tries.transient = True
        self._retry(budget)
        self.sleep(min(RETRY_PAUSE, max(0.0, budget.left())))
        return ""

    def _retry(self, budget: _Budget) -> None:
        with budget.lock:
            budget.retries += 1

    def _note(self, problem: str) -> None:
        """Say a kind of problem once per run (the first one's details stand for all)."""
        with self._lock:
            kind = problem.split(" (", 1)[0]
            if not any(p.split(" (", 1)[0] == kind for p in self.report.problems):
                self.report.problems.append(problem)


def _unique_texts(entries: Iterable[StoredEntry]) -> dict[str, StoredEntry]:
    """One entry per content hash, first seen first."""
    found: dict[str, StoredEntry] = {}
    for entry in entries:
        found.setdefault(entry.content_hash, entry)
    return found
