"""Getting a source's bytes: reading local files and polite HTTP GET.

Owns the HTTP side of a source: the User-Agent, conditional GET (ETag and
Last-Modified sent back, a 304 answered without a body), connect/read timeouts
plus a total budget per request that holds even against a server trickling a byte
a second, the response size cap (checked while streaming, after decompression),
gzip/deflate/brotli, redirects (a permanent one reported so the caller can move
the source), Retry-After, and per-host politeness: at most ``per_host`` requests
to a host at once and at least ``min_interval`` seconds between their starts.

Never parses, never touches the database: it hands bytes plus the Content-Type to
the parse stage, and every failure becomes a :class:`FetchError` naming the source
and saying what to do. :class:`Fetcher` is safe to use from several threads;
:func:`fetch_in_order` runs many sources' fetches in a thread pool, a bounded
window ahead of the caller, and hands them back in config order. Whether a source
may be asked at all (rests, 410) is decided by :mod:`aggregator._fetch.health`; the total
budget down to each socket operation is :mod:`aggregator._fetch.deadline`'s.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from .._common.version import __version__
from ..config.access import NO_ACCESS, Access
from ..config.settings import FetchSettings
from ..config.sources import Source
from ..errors import FetchError, GoneError
from . import deadline
from .access import request_headers
from .health import FetchState, skip_reason, state_for

USER_AGENT = f"aggregator/{__version__} (+https://github.com/aggregator-dev/aggregator)"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9,"
    " application/xml;q=0.9, text/xml;q=0.8, text/html;q=0.7, */*;q=0.5"
)
MAX_REDIRECTS = 10
_PERMANENT = frozenset({301, 308})

_STATUS_HINTS = {
    401: (
        "the feed needs a login: give the source auth (see 'Private feeds' in the README),"
        " or check the password or token it names"
    ),
    403: "the server refuses aggregator; check the URL in a browser",
    404: "the URL is wrong or the feed moved; check it in a browser",
    429: "the server says too many requests; aggregator will ask less often",
}


@dataclass(frozen=True)
class Fetched:
    """The bytes of one source and what came with them.

    ``not_modified`` is a 304: ``data`` is empty and nothing needs parsing.
    ``moved_to`` is set when the request was permanently redirected (301, 308).
    """

    data: bytes
    content_type: str | None = None
    status: int | None = None
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    not_modified: bool = False


@dataclass(frozen=True)
class Validators:
    """What a conditional GET sends back: the previous response's ETag and Last-Modified."""

    etag: str | None = None
    last_modified: str | None = None


def fetch(source: Source, settings: FetchSettings, client: httpx.Client | None = None) -> Fetched:
    """Read the source's file or GET its URL (unconditionally). Raises FetchError."""
    if source.path is not None:
        return read_file(source, settings)
    assert source.url is not None
    with Fetcher(settings, client=client) as fetcher:
        return fetcher.get(source.name, source.url, access=source.access)


def make_client(settings: FetchSettings) -> httpx.Client:
    """An HTTP client with the project's User-Agent, timeouts and redirect policy.

    httpx asks for brotli (``br``) itself when the ``brotli`` package is installed.
    """
    limits = httpx.Limits(
        max_connections=max(settings.workers, settings.per_host) + 2,
        max_keepalive_connections=settings.workers,
    )
    return httpx.Client(
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
        timeout=_timeout(settings, settings.timeout),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        transport=deadline.transport(limits),
        mounts=deadline.proxy_mounts(limits),
    )


def _timeout(settings: FetchSettings, remaining: float) -> httpx.Timeout:
    remaining = max(remaining, 0.001)
    return httpx.Timeout(
        connect=min(settings.connect_timeout, remaining),
        read=min(settings.read_timeout, remaining),
        write=min(settings.read_timeout, remaining),
        pool=remaining,
    )


def read_file(source: Source, settings: FetchSettings) -> Fetched:
    """The bytes of a local source. Raises FetchError."""
    assert source.path is not None
    try:
        size = source.path.stat().st_size
        if size > settings.max_bytes:
            raise FetchError(
                f"{source.path} is {size} bytes, over the {settings.max_bytes} byte limit",
                source=source.name,
                hint="raise [fetch].max_bytes if the file is right",
            )
        return Fetched(data=source.path.read_bytes())
    except FileNotFoundError:
        raise FetchError(
            f"file not found: {source.path}",
            source=source.name,
            hint="check the source's path (relative paths start at the config file's folder)",
        ) from None
    except IsADirectoryError:
        raise FetchError(f"{source.path} is a folder, not a file", source=source.name) from None
    except PermissionError:
        raise FetchError(f"permission denied reading {source.path}", source=source.name) from None
    except OSError as err:
        raise FetchError(f"cannot read {source.path}: {err.strerror}", source=source.name) from err


class _Host:
    """Politeness towards one host: a concurrency limit and a minimum start interval."""

    def __init__(self, concurrent: int, interval: float) -> None:
        self.slots = threading.BoundedSemaphore(concurrent)
        self.interval = interval
        self.lock = threading.Lock()
        self.next_start = 0.0

    def wait_turn(self) -> None:
        if self.interval <= 0:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        if start > now:
            time.sleep(start - now)

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self.slots:
            self.wait_turn()
            yield


class SharedHosts(Protocol):
    """Per-host politeness kept outside this process, shared by every process that asks
    (the job queue's workers: see ``aggregator/_storage/postgres/queue.py``)."""

    def turn(
        self, host: str, *, per_host: int, interval: float
    ) -> AbstractContextManager[None]: ...


class Fetcher:
    """Polite HTTP for many sources at once; share one between threads.

    Politeness holds within this process; given ``shared`` hosts, across every process
    that shares them (each request then takes its turn there instead).
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        client: httpx.Client | None = None,
        shared: SharedHosts | None = None,
    ) -> None:
        self.settings = settings
        self._own = client is None
        self.client = client if client is not None else make_client(settings)
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()
        self._shared = shared

    def close(self) -> None:
        if self._own:
            self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _host(self, url: str) -> _Host:
        host = (urlsplit(url).hostname or "").lower()
        with self._hosts_lock:
            found = self._hosts.get(host)
            if found is None:
                found = _Host(self.settings.per_host, self.settings.interval_for(host))
                self._hosts[host] = found
            return found

    def get(
        self,
        name: str,
        url: str,
        validators: Validators | None = None,
        *,
        now: datetime | None = None,
        access: Access = NO_ACCESS,
    ) -> Fetched:
        """GET ``url`` for source ``name``, conditionally when given validators, with
        the login and headers of ``access``.

        Raises FetchError (GoneError for a 410; also when a secret ``access`` names is
        not in the environment). ``now`` is the wall-clock time a Retry-After in
        seconds counts from (default: the system clock).
        """
        headers = _conditional(validators)
        if access.any:
            headers.update(request_headers(access, source=name))
        with self._turn(url):
            return self._get(name, url, headers, now or datetime.now(UTC))

    def _turn(self, url: str) -> AbstractContextManager[None]:
        """Wait for a request's turn at its host: a free slot, then its start time."""
        if self._shared is None:
            return self._host(url).turn()
        host = (urlsplit(url).hostname or "").lower()
        return self._shared.turn(
            host, per_host=self.settings.per_host, interval=self.settings.interval_for(host)
        )

    def _get(self, name: str, url: str, headers: dict[str, str], now: datetime) -> Fetched:
        with deadline.budget(self.settings.timeout) as ends:
            return self._get_within(name, url, headers, now, ends)

    def _get_within(
        self, name: str, url: str, headers: dict[str, str], now: datetime, ends: float
    ) -> Fetched:
        settings = self.settings
        body = _Body()
        try:
            with self.client.stream(
                "GET",
                url,
                headers=headers,
                timeout=_timeout(settings, settings.timeout),
            ) as response:
                return _answer(name, url, response, now, settings, body, ends)
        except httpx.HTTPError as err:
            raise _http_failure(name, url, err, settings, body.received, ends) from err


def _conditional(validators: Validators | None) -> dict[str, str]:
    """The headers that make a GET conditional on what the last response said."""
    headers: dict[str, str] = {}
    if validators is not None:
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
    return headers


@dataclass
class _Body:
    """A response body as it streams in; ``received`` counts its bytes so far."""

    chunks: list[bytes] = field(default_factory=list)
    received: int = 0


def _answer(
    name: str,
    url: str,
    response: httpx.Response,
    now: datetime,
    settings: FetchSettings,
    body: _Body,
    ends: float,
) -> Fetched:
    """What a response (its headers in, its body not yet) comes to. Raises FetchError."""
    moved_to = _permanent_target(response)
    status = response.status_code
    if status == 304:
        return Fetched(
            data=b"",
            status=304,
            url=str(response.url),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            moved_to=moved_to,
            not_modified=True,
        )
    if status >= 400 or status < 200:
        raise _status_error(name, url, response, now)
    _read_body(name, url, response, settings, body, ends)
    return Fetched(
        data=b"".join(body.chunks),
        content_type=response.headers.get("content-type"),
        status=status,
        url=str(response.url),
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        moved_to=moved_to,
    )


def _read_body(
    name: str,
    url: str,
    response: httpx.Response,
    settings: FetchSettings,
    body: _Body,
    ends: float,
) -> None:
    """Stream the body into ``body``, within the size cap and the deadline."""
    declared = response.headers.get("content-length", "")
    # Content-Length of compressed bytes is only a hint; the streamed count rules.
    compressed = "content-encoding" in response.headers
    if declared.isdigit() and int(declared) > settings.max_bytes and not compressed:
        raise _too_big(name, url, settings, f"says it is {int(declared)} bytes")
    for chunk in response.iter_bytes():
        body.received += len(chunk)
        if body.received > settings.max_bytes:
            raise _too_big(name, url, settings, "goes on")
        if time.monotonic() > ends:
            raise _too_slow(name, url, settings, body.received)
        body.chunks.append(chunk)


def _http_failure(
    name: str,
    url: str,
    err: httpx.HTTPError,
    settings: FetchSettings,
    received: int,
    ends: float,
) -> FetchError:
    """An httpx error as the FetchError that says what happened and what to do."""
    if isinstance(err, httpx.TooManyRedirects):
        return FetchError(
            f"too many redirects from {url} (more than {MAX_REDIRECTS}, or a loop)",
            source=name,
            hint="the site's redirects go round in circles; check the URL in a browser",
        )
    if isinstance(err, httpx.ConnectTimeout):
        return FetchError(
            f"no connection to {_host_of(url)} within {settings.connect_timeout:g} s",
            source=name,
            hint="the server is down or unreachable; it will be retried later",
        )
    if isinstance(err, httpx.TimeoutException):
        if time.monotonic() >= ends - 0.01:
            return _too_slow(name, url, settings, received)
        return FetchError(
            f"{_host_of(url)} sent nothing for {settings.read_timeout:g} s",
            source=name,
            hint="the server hangs; it will be retried later;"
            " raise [fetch].read_timeout if it is just slow",
        )
    if isinstance(err, httpx.DecodingError):
        return FetchError(
            f"the response from {url} is not validly compressed: {err}",
            source=name,
            hint="the server's gzip/deflate/brotli data is broken; tell its publisher",
        )
    if isinstance(err, httpx.ConnectError):
        return FetchError(
            f"cannot connect to {_host_of(url)}: {_reason(err)}",
            source=name,
            hint="check the host name, or the server is down",
        )
    return FetchError(f"cannot fetch {url}: {_reason(err)}", source=name)


def _permanent_target(response: httpx.Response) -> str | None:
    """Where the leading permanent redirects of the request led, if any did."""
    target = None
    chain = [*response.history, response]
    for hop, following in itertools.pairwise(chain):
        if hop.status_code not in _PERMANENT:
            break
        target = str(following.url)
    return target


def _status_error(name: str, url: str, response: httpx.Response, now: datetime) -> FetchError:
    status = response.status_code
    what = f"HTTP {status} {_phrase(status, response.reason_phrase)}".rstrip()
    if status == 410:
        return GoneError(
            f"{what}: {url} was removed by its publisher",
            source=name,
            hint="the source is disabled until its url in the config changes",
            status=status,
        )
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    hint = _STATUS_HINTS.get(status)
    if hint is None and status >= 500:
        hint = "the server has a problem; it will be retried later"
    if retry_after is not None:
        hint = (
            "the server asked to wait; it is not asked again before"
            f" {retry_after:%Y-%m-%d %H:%M} UTC"
        )
    return FetchError(
        f"{what} from {url}", source=name, hint=hint, status=status, retry_after=retry_after
    )


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """A Retry-After header (seconds or an HTTP date) as a UTC time; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now.astimezone(UTC) + timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _too_big(name: str, url: str, settings: FetchSettings, how: str) -> FetchError:
    return FetchError(
        f"the response from {url} {how} over the {settings.max_bytes} byte limit",
        source=name,
        hint="raise [fetch].max_bytes if the feed really is that big",
    )


def _too_slow(name: str, url: str, settings: FetchSettings, received: int) -> FetchError:
    got = f" ({received} bytes of the body received)" if received else ""
    return FetchError(
        f"{_host_of(url)} took longer than {settings.timeout:g} s in total{got}",
        source=name,
        hint="the server sends too slowly; it will be retried later;"
        " raise [fetch].timeout if the feed is just big",
    )


def _phrase(status: int, given: str) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return given


def _host_of(url: str) -> str:
    return urlsplit(url).netloc or url


def _reason(err: Exception) -> str:
    text = str(err) or type(err).__name__
    return text.removeprefix("[Errno -2] ").removeprefix("[Errno 111] ")


# -- many sources at once ------------------------------------------------------------------


@dataclass
class Attempt:
    """One source's fetch in a batch: running in the pool, or skipped with a reason."""

    source: Source
    #: The HTTP state this fetch starts from (None for a local file).
    state: FetchState | None
    skipped: str | None = None
    future: Future[Fetched] | None = None
    #: Skipped because its interval has not passed (see aggregator._fetch.schedule).
    not_due: bool = False

    def result(self) -> Fetched:
        """The fetched bytes, waiting for them if needed. Raises FetchError."""
        assert self.future is not None
        return self.future.result()


def fetch_in_order(
    sources: list[Source],
    *,
    states: dict[str, FetchState],
    failures: dict[str, int],
    fetcher: Fetcher,
    pool: Executor,
    now: datetime,
    ahead: int,
    not_due: dict[str, str] | None = None,
) -> Iterator[Attempt]:
    """One Attempt per source, in ``sources`` order, fetched ahead of the consumer.

    A source resting (Retry-After, backoff) or gone (410) is not asked at all; its
    Attempt says why. A source fetched before is asked conditionally. At most
    ``ahead`` fetches are started beyond the one being consumed, so a slow consumer
    (parsing) bounds the memory held by downloaded documents. A source named in
    ``not_due`` (with the reason) is not asked either.
    """
    waiting = not_due or {}
    attempts = [
        Attempt(source, None, skipped=waiting[source.name], not_due=True)
        if source.name in waiting
        else plan_attempt(source, states, failures, now)
        for source in sources
    ]
    queue = [attempt for attempt in attempts if attempt.skipped is None]
    started = 0

    def start_until(limit: int) -> None:
        nonlocal started
        while started < min(limit, len(queue)):
            queue[started].future = _submit(queue[started], fetcher, pool, now)
            started += 1

    start_until(ahead)
    consumed = 0
    for attempt in attempts:
        if attempt.skipped is None:
            consumed += 1
            start_until(consumed + ahead)
        yield attempt


def plan_attempt(
    source: Source, states: dict[str, FetchState], failures: dict[str, int], now: datetime
) -> Attempt:
    """The source's Attempt, not started: skipped with the reason when it rests or is gone."""
    if source.url is None:
        return Attempt(source, None)
    state = state_for(source.url, source.name, states.get(source.name))
    skipped = skip_reason(state, now, failures=failures.get(source.name, 0))
    return Attempt(source, state, skipped=skipped)


def _submit(attempt: Attempt, fetcher: Fetcher, pool: Executor, now: datetime) -> Future[Fetched]:
    if attempt.state is None:
        return pool.submit(read_file, attempt.source, fetcher.settings)
    validators = Validators(attempt.state.etag, attempt.state.last_modified)
    return pool.submit(
        fetcher.get,
        attempt.source.name,
        attempt.state.fetch_url,
        validators,
        now=now,
        access=attempt.source.access,
    )
