"""Configuration: a TOML file read once into validated, typed, frozen settings.

Owns the schema of every key (type, default, help), the embedded default
configuration, and the rules for relative paths. Reads only the config file itself
(which one: :mod:`aggregator.config.locate`).
An unknown key or a wrong type is a :class:`ConfigError` naming the key and the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._app.cron import cron_trigger
from .._common import resources, safety
from .._sources import FEED_ENGINES
from .._sources.arxiv.calendar import DEFAULT_HOLIDAYS
from .._sources.arxiv.feed import categories_in_url
from ..errors import ConfigError
from .access import access_from
from .interests import INTERESTS_SCHEMA, Interests, parse_interests
from .locate import BY_OPTION, locate
from .locate import DEFAULT_CONFIG_NAME as DEFAULT_CONFIG_NAME  # re-exported
from .mail import EMAIL_SCHEMA, EmailSettings, Subscriber, parse_email
from .polling import DEFAULT_ADAPTIVE_START, parse_interval
from .queue import QUEUE_SCHEMA, QueueSettings, parse_queue
from .schema import Schema, check_type, typed_table
from .serve import SERVE_SCHEMA, ServeSettings, parse_serve
from .sources import KINDS, Source
from .summaries import SUMMARIES_SCHEMA, SummariesSettings, parse_summaries

_ARXIV_CATEGORY_RE = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?$")


@dataclass(frozen=True)
class StorageSettings:
    #: The SQLite file (also where the outbox folder goes by default); unused for
    #: storage when ``url`` names a PostgreSQL database.
    database: Path
    #: Seconds to wait for another aggregator (or another program) using the database.
    lock_timeout: float = 60.0
    #: Prune entries unchanged for this many days (and their digests); 0 keeps everything.
    keep_days: int = 0
    #: Create the database's folder when it does not exist (else that is a config error:
    #: a typo in the path must not start a new, empty database).
    create: bool = False
    #: ``postgresql://user@host:port/db``: store in PostgreSQL instead of ``database``.
    url: str | None = None
    #: The environment variable holding the PostgreSQL password (else libpq's own ways:
    #: PGPASSWORD, ~/.pgpass).
    password_env: str | None = None

    def describe(self) -> str:
        """Where the data is, for people: the URL (it holds no password) or the file."""
        return self.url if self.url is not None else str(self.database)


@dataclass(frozen=True)
class PublishSettings:
    output_dir: Path
    base_url: str
    title: str
    #: The most recent digest days each feed holds in full (0: no such rule).
    feed_days: int
    #: At least this many of the newest entries, whatever their day.
    feed_min_entries: int
    #: The hard cap per feed (feed_min_entries above it counts as it); a publish that
    #: cuts one of the recent days says so.
    feed_max_entries: int
    #: The formats each feed is written in: "atom" always, "json", "rss" (in FEED_FORMATS order).
    formats: tuple[str, ...] = ("atom", "json")
    #: WebSub hub linked from every feed and told when one changes ("" = none).
    websub_hub: str = ""


@dataclass(frozen=True)
class DigestSettings:
    timezone: str
    title: str


@dataclass(frozen=True)
class FetchSettings:
    #: Total seconds one request may take, however the server drips its bytes.
    timeout: float
    max_bytes: int
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    workers: int = 16
    per_host: int = 2
    #: Host name to the least seconds between the starts of two requests to it.
    min_interval: tuple[tuple[str, float], ...] = ()
    backoff_base: float = 1800.0
    backoff_max: float = 86400.0
    #: "auto" (fast lxml path, feedparser fallback) or "feedparser".
    parser: str = "auto"
    #: Worker processes that parse: "auto" (one per core) or a number (0: none).
    processes: str | int = "auto"

    def interval_for(self, host: str) -> float:
        """The configured minimum interval between requests to ``host`` (0 when none)."""
        return dict(self.min_interval).get(host.lower(), 0.0)


@dataclass(frozen=True)
class ScheduleSettings:
    """Cron expressions (in ``[digest].timezone``) for ``aggregator schedule``; "" = off."""

    jobs: tuple[tuple[str, str], ...] = (("run", "30 6 * * *"),)
    misfire_grace_time: int = 3600


@dataclass(frozen=True)
class ArxivSettings:
    """Where arXiv's feeds are and its announcement calendar."""

    base_url: str = "https://rss.arxiv.org/"
    feed_format: str = "rss"
    holidays: tuple[date, ...] = DEFAULT_HOLIDAYS
    api_url: str = "https://export.arxiv.org/api/query"
    api_delay: float = 3.0
    catch_up_days: int = 5


@dataclass(frozen=True)
class DedupSettings:
    """Duplicates beyond identity keys (see aggregator/_neardup/rules.py and the README)."""

    enabled: bool = True
    threshold: float = 0.5
    window_days: int = 14
    title_window_days: int = 180
    num_perm: int = 128
    bands: int = 32
    source_priority: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """Everything a run needs, validated. Passed explicitly; never global."""

    storage: StorageSettings
    publish: PublishSettings
    digest: DigestSettings
    fetch: FetchSettings
    sources: tuple[Source, ...]
    #: None when there is no [email] table: digests are not mailed.
    email: EmailSettings | None = None
    subscribers: tuple[Subscriber, ...] = ()
    schedule: ScheduleSettings = field(default=ScheduleSettings())
    #: Where the settings came from, for messages ("<embedded default>" or a path).
    origin: str = "<embedded default>"
    #: Which lookup rule found them (``--config``, ``$AGGREGATOR_CONFIG``, ...; see
    #: :mod:`aggregator.config.locate`), for ``status``.
    found_by: str = "--config"
    #: Unused sections or values worth telling the user about.
    notes: tuple[str, ...] = field(default=())
    arxiv: ArxivSettings = field(default_factory=ArxivSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    #: The default profile: ranks the published digests, and the digest of every
    #: subscriber without interests of their own.
    interests: Interests = field(default_factory=Interests)
    summaries: SummariesSettings = field(default_factory=SummariesSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)


# key: (type, default, help). The help strings are what config/example.toml documents;
# tests check that each key appears there.
SCHEMA: dict[str, Schema] = {
    "storage": {
        "database": (str, "aggregator.db", "SQLite database file"),
        "url": (str, None, "postgresql://user@host:port/db: store in PostgreSQL instead"),
        "password_env": (str, None, "environment variable holding the PostgreSQL password"),
        "lock_timeout": (
            (int, float),
            60,
            "seconds to wait while another run holds the database, then give up (exit 4)",
        ),
        "keep_days": (int, 0, "prune entries unchanged for this many days; 0 keeps all"),
        "create": (bool, False, "create the database's folder if it does not exist"),
    },
    "publish": {
        "output_dir": (str, "public", "folder for feeds, digests and the index page"),
        "base_url": (str, "http://localhost:8000/", "public URL of output_dir, for self links"),
        "title": (str, "aggregator", "title of the index page and prefix of feed titles"),
        "feed_days": (int, 2, "most recent digest days each feed holds in full"),
        "feed_min_entries": (int, 100, "at least this many newest entries in each feed"),
        "feed_max_entries": (int, 2000, "hard cap of entries per feed (a cut day is warned)"),
        "formats": (
            list,
            ["atom", "json"],
            "formats each feed is written in: atom (always), json (JSON Feed 1.1), rss (RSS 2.0)",
        ),
        "websub_hub": (str, "", 'WebSub hub to link from every feed and ping on changes; "" = off'),
    },
    "digest": {
        "timezone": (str, "UTC", "IANA time zone that decides which day an entry belongs to"),
        "title": (str, "Daily digest", "title shown at the top of each digest"),
    },
    "fetch": {
        "timeout": ((int, float), 60.0, "total seconds one HTTP request may take"),
        "connect_timeout": ((int, float), 10.0, "seconds to wait for a connection"),
        "read_timeout": ((int, float), 30.0, "seconds to wait for the next bytes"),
        "max_bytes": (int, 20_000_000, "largest response accepted, in bytes"),
        "workers": (int, 16, "sources fetched at the same time"),
        "per_host": (int, 2, "requests to one host at the same time"),
        "min_interval": (
            dict,
            {"export.arxiv.org": 3.0},
            "least seconds between two requests to a host, per host name",
        ),
        "backoff_base": ((int, float), 1800.0, "seconds a source rests after its first failure"),
        "backoff_max": ((int, float), 86400.0, "longest rest of a failing source, in seconds"),
        "parser": (str, "auto", "RSS/Atom reader: auto (fast, feedparser fallback) | feedparser"),
        "processes": (
            (str, int),
            "auto",
            "worker processes that parse documents: auto (one per core) | a number (0: none)",
        ),
    },
    "email": EMAIL_SCHEMA,
    "schedule": {
        "run": (str, "30 6 * * *", 'cron expression for the full run; "" = off'),
        "fetch": (str, "", 'cron expression for fetching only (more often); "" = off'),
        "misfire_grace_time": (int, 3600, "seconds a late job may still start"),
    },
    "arxiv": {
        "base_url": (str, "https://rss.arxiv.org/", "where arXiv's RSS and Atom feeds are"),
        "feed_format": (str, "rss", "rss | atom: which of arXiv's feeds an arxiv source reads"),
        "holidays": (
            list,
            [d.isoformat() for d in DEFAULT_HOLIDAYS],
            "listing days without an arXiv announcement (YYYY-MM-DD)",
        ),
        "api_url": (str, "https://export.arxiv.org/api/query", "arXiv's export API, for backfill"),
        "api_delay": ((int, float), 3.0, "seconds between API requests (arXiv asks for 3)"),
        "catch_up_days": (int, 5, "missed listing days a run fetches from the API (0: none)"),
    },
    "dedup": {
        "enabled": (bool, True, "link near-duplicates and the same work under other IDs"),
        "threshold": ((int, float), 0.5, "estimated Jaccard similarity that makes a duplicate"),
        "window_days": (int, 14, "near-duplicates only count within this many days"),
        "title_window_days": (int, 180, "days within which title + first author match"),
        "num_perm": (int, 128, "MinHash functions per signature"),
        "bands": (int, 32, "LSH bands; num_perm must be a multiple of it"),
        "source_priority": (list, [], "source names, most authoritative first"),
    },
    "serve": SERVE_SCHEMA,
    "interests": INTERESTS_SCHEMA,
    "summaries": SUMMARIES_SCHEMA,
    "queue": QUEUE_SCHEMA,
}

SOURCE_SCHEMA: Schema = {
    "name": (str, None, "unique name of the source (required)"),
    "kind": (str, "feed", "feed | arxiv | markdown-digest | markdown | page"),
    "url": (str, None, "http(s) URL to fetch (give url or path; arxiv: or categories)"),
    "path": (str, None, "local file, relative to the config file (give url or path)"),
    "categories": (list, None, "categories to file every entry under"),
    "entry_categories": (bool, None, "also use the categories entries carry themselves"),
    "timezone": (str, "UTC", "time zone of times the source gives without an offset"),
    "enabled": (bool, True, "false skips the source without removing it"),
    "auth": (
        dict,
        None,
        'HTTP login: { type = "basic", username, password_env } or { type = "bearer", token_env }',
    ),
    "headers": (dict, None, "extra HTTP request headers, { Name = value }"),
    "user_agent": (str, None, "the User-Agent sent to this source instead of aggregator's"),
    "cookies_env": (str, None, "NAME of the environment variable with a Cookie header value"),
    "interval": ((str, int, float), None, 'fetch at most this often: "30m", "6h", "1d"'),
    "adaptive": (bool, False, "let the interval follow how often the source has news"),
    "fetch_full_text": (bool, False, "fetch each new entry's link and extract the article"),
}


def _section(raw: dict[str, Any], name: str, *, file: str) -> dict[str, Any]:
    return typed_table(raw.get(name, {}), SCHEMA[name], file=file, where=name, label=f"[{name}]")


#: Longest source name or category, in UTF-8 bytes: either can become a feed's file
#: name (a source without categories files its entries under its own name), and
#: longer ones could not be that file name unchanged (see ``safety.file_stem``).
MAX_NAME_BYTES = safety.MAX_STEM_BYTES


def _check_name(value: str, what: str, *, file: str, key: str) -> None:
    """Refuse a source name or category that cannot be one line of a message, a mail
    header or a file name: the config is the admin's to fix, not ours to guess."""
    shown = repr(value if len(value) <= 40 else value[:40] + "…")  # repr shows each control
    if safety.has_controls(value):
        raise ConfigError(
            f"{what} cannot hold control characters (line breaks, tabs, escapes): {shown}",
            file=file,
            key=key,
            hint="write it on one line, without control characters",
        )
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise ConfigError(
            f"{what} is too long ({size} bytes; at most {MAX_NAME_BYTES}): {shown}",
            file=file,
            key=key,
            hint="use a shorter name",
        )


def _timezone(name: str, *, file: str, key: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {name!r}",
            file=file,
            key=key,
            hint="use an IANA name such as 'UTC', 'Europe/Berlin' or 'Asia/Shanghai'",
        ) from None
    return name


def _sources(
    raw: Any, *, file: str, base: Path, arxiv: ArxivSettings | None = None
) -> tuple[Source, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("expected an array of tables ([[sources]])", file=file, key="sources")
    sources: list[Source] = []
    seen: set[str] = set()
    for index, table in enumerate(raw):
        where = f"sources[{index}]"
        values = typed_table(table, SOURCE_SCHEMA, file=file, where=where)
        name = values["name"]
        if not name or not name.strip():
            raise ConfigError("every source needs a name", file=file, key=f"{where}.name")
        _check_name(name, "a source name", file=file, key=f"{where}.name")
        where = f"sources[{index}] ({name})"
        if name in seen:
            raise ConfigError(f"source name {name!r} is used twice", file=file, key=where)
        seen.add(name)
        sources.append(_source(values, where, file=file, base=base, arxiv=arxiv))
    return tuple(sources)


def _source(
    values: dict[str, Any], where: str, *, file: str, base: Path, arxiv: ArxivSettings | None
) -> Source:
    """One ``[[sources]]`` table's type-checked values, named ``where``, as a Source."""
    if values["kind"] not in KINDS:
        raise ConfigError(
            f"unknown kind {values['kind']!r}",
            file=file,
            key=f"{where}.kind",
            hint=f"one of: {', '.join(KINDS)}",
        )
    url, path = values["url"], values["path"]
    categories = values["categories"]
    if categories is not None and not all(isinstance(c, str) and c.strip() for c in categories):
        raise ConfigError(
            "categories must be non-empty strings", file=file, key=f"{where}.categories"
        )
    for category in categories or ():
        _check_name(category.strip(), "a category", file=file, key=f"{where}.categories")
    follow: tuple[str, ...] = ()
    if values["kind"] == "arxiv":
        follow = _followed(categories, url, path, where, file=file)
        categories = None  # an arXiv paper is filed under the followed ones it is listed in
        if url is None and path is None and follow:
            settings = arxiv or ArxivSettings()
            url = f"{settings.base_url}{settings.feed_format}/{'+'.join(follow)}"
    if (url is None) == (path is None):
        raise ConfigError("give exactly one of url or path", file=file, key=where)
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"url must be http(s), got {url!r}",
            file=file,
            key=f"{where}.url",
            hint="use path = ... for a local file",
        )
    return Source(
        name=values["name"],
        kind=values["kind"],
        url=url,
        path=(base / path) if path is not None else None,
        categories=tuple(c.strip() for c in categories) if categories else (),
        entry_categories=(
            values["entry_categories"]
            if values["entry_categories"] is not None
            else KINDS[values["kind"]].entry_categories
        ),
        timezone=_timezone(values["timezone"], file=file, key=f"{where}.timezone"),
        enabled=values["enabled"],
        follow=follow,
        access=access_from(values, where, file=file, url=url),
        **_rhythm(values, where, file=file, url=url),
    )


def _rhythm(values: dict[str, Any], where: str, *, file: str, url: str | None) -> dict[str, Any]:
    """The interval, adaptive and fetch_full_text of one source."""
    interval = values.get("interval")
    adaptive, full_text = values.get("adaptive", False), values.get("fetch_full_text", False)
    if (interval is not None or adaptive or full_text) and url is None:
        raise ConfigError(
            "interval, adaptive and fetch_full_text are for sources with a url",
            file=file,
            key=where,
        )
    if (interval is not None or adaptive) and values["kind"] == "arxiv":
        raise ConfigError(
            "an arxiv source takes no interval: arXiv's announcement calendar decides",
            file=file,
            key=f"{where}.interval",
            hint="remove interval and adaptive; runs on days without a batch cost one request",
        )
    seconds = (
        None if interval is None else parse_interval(interval, file=file, key=f"{where}.interval")
    )
    if adaptive and seconds is None:
        seconds = DEFAULT_ADAPTIVE_START
    return {"interval": seconds, "adaptive": adaptive, "fetch_full_text": full_text}


def _followed(
    categories: list[str] | None, url: str | None, path: str | None, where: str, *, file: str
) -> tuple[str, ...]:
    """The arXiv categories an arxiv source follows: as configured, else those in its URL."""
    follow = tuple(c.strip() for c in categories or ())
    for category in follow:
        if not _ARXIV_CATEGORY_RE.match(category):
            raise ConfigError(
                f"{category!r} is not an arXiv category",
                file=file,
                key=f"{where}.categories",
                hint="write categories as arXiv does: cs.AI, math.CO, hep-th, physics",
            )
    if not follow and url is not None:
        follow = categories_in_url(url)  # https://rss.arxiv.org/rss/cs.AI+cs.LG
    if url is None and path is None and not follow:
        raise ConfigError(
            "an arxiv source needs categories (or a url or path)", file=file, key=where
        )
    return follow


def _storage(
    values: dict[str, Any], *, given: Iterable[str], work_base: Path, file: str
) -> StorageSettings:
    url, password_env = values["url"], values["password_env"]
    if url is not None:
        if "database" in given:
            raise ConfigError(
                "give either database (SQLite) or url (PostgreSQL), not both",
                file=file,
                key="storage.url",
            )
        check_postgres_url(url, file=file)
    if password_env is not None:
        if url is None:
            raise ConfigError(
                "only a PostgreSQL url takes a password", file=file, key="storage.password_env"
            )
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", password_env):
            raise ConfigError(
                f"{password_env!r} is not an environment variable name",
                file=file,
                key="storage.password_env",
                hint='name the variable, e.g. password_env = "AGGREGATOR_DB_PASSWORD"',
            )
    if values["lock_timeout"] < 0:
        raise ConfigError("must be 0 or more", file=file, key="storage.lock_timeout")
    if values["keep_days"] < 0:
        raise ConfigError("must be 0 (keep everything) or more", file=file, key="storage.keep_days")
    return StorageSettings(
        database=work_base / values["database"],
        lock_timeout=float(values["lock_timeout"]),
        keep_days=values["keep_days"],
        create=values["create"],
        url=url,
        password_env=password_env,
    )


def check_postgres_url(url: str, *, file: str, key: str = "storage.url") -> None:
    """A ``postgresql://`` URL naming a database, without a password in it."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(
            f"{url!r} is not a postgresql:// URL",
            file=file,
            key=key,
            hint='e.g. url = "postgresql://aggregator@db.example.org:5432/aggregator";'
            " for SQLite, give database instead",
        )
    if parts.password is not None or "password=" in parts.query:
        raise ConfigError(
            "the url holds a password, which would then sit in the config file",
            file=file,
            key=key,
            hint="remove it, and give it through password_env, PGPASSWORD or ~/.pgpass",
        )
    if not parts.path.strip("/"):
        raise ConfigError(f"{url!r} names no database", file=file, key=key, hint="end it in /<db>")


def _schedule(values: dict[str, Any], timezone: str, *, file: str) -> ScheduleSettings:
    jobs: list[tuple[str, str]] = []
    for name in (key for key in SCHEMA["schedule"] if key != "misfire_grace_time"):
        expression = values[name].strip()
        if not expression:
            continue
        try:
            cron_trigger(expression, timezone)
        except ValueError as err:
            raise ConfigError(
                f"not a cron expression: {expression!r} ({err})",
                file=file,
                key=f"schedule.{name}",
                hint="five fields: minute hour day-of-month month day-of-week,"
                " e.g. '30 6 * * *' for 06:30 every day",
            ) from None
        jobs.append((name, expression))
    if values["misfire_grace_time"] < 1:
        raise ConfigError("must be at least 1", file=file, key="schedule.misfire_grace_time")
    return ScheduleSettings(jobs=tuple(jobs), misfire_grace_time=values["misfire_grace_time"])


def _dedup(values: dict[str, Any], sources: tuple[Source, ...], *, file: str) -> DedupSettings:
    if not 0 < values["threshold"] <= 1:
        raise ConfigError(
            f"must be above 0 and at most 1, got {values['threshold']!r}",
            file=file,
            key="dedup.threshold",
            hint="0.5 is the tested default; higher merges less",
        )
    for key in ("window_days", "title_window_days"):
        if values[key] < 0:
            raise ConfigError("must not be negative", file=file, key=f"dedup.{key}")
    num_perm, bands = values["num_perm"], values["bands"]
    if not 16 <= num_perm <= 1024 or bands < 1 or num_perm % bands:
        raise ConfigError(
            f"num_perm ({num_perm}) must be 16 to 1024 and a multiple of bands ({bands})",
            file=file,
            key="dedup.num_perm",
            hint="the defaults are num_perm = 128, bands = 32",
        )
    names = {source.name for source in sources}
    priority = values["source_priority"]
    for index, name in enumerate(priority):
        if not isinstance(name, str) or name not in names:
            raise ConfigError(
                f"{name!r} is not the name of a configured source",
                file=file,
                key=f"dedup.source_priority[{index}]",
                hint=f"configured sources: {', '.join(sorted(names)) or 'none'}",
            )
    return DedupSettings(
        enabled=values["enabled"],
        threshold=float(values["threshold"]),
        window_days=values["window_days"],
        title_window_days=values["title_window_days"],
        num_perm=num_perm,
        bands=bands,
        source_priority=tuple(dict.fromkeys(priority)),
    )


def parse_config(text: str, *, file: str, source_base: Path, work_base: Path) -> Settings:
    """Validate TOML text into Settings.

    Relative source paths resolve against ``source_base``; the database and output
    folder against ``work_base``.
    """
    raw = _toml(text, file=file)
    storage = _section(raw, "storage", file=file)
    publish = _section(raw, "publish", file=file)
    digest = _section(raw, "digest", file=file)
    fetch = _section(raw, "fetch", file=file)
    email, subscribers = parse_email(raw, file=file, base=source_base)
    given = raw.get("storage", {})
    storage_settings = _storage(
        storage, given=given if isinstance(given, dict) else {}, work_base=work_base, file=file
    )
    digest_timezone = _timezone(digest["timezone"], file=file, key="digest.timezone")
    schedule = _schedule(_section(raw, "schedule", file=file), digest_timezone, file=file)
    arxiv = _arxiv(_section(raw, "arxiv", file=file), file=file)
    sources = _sources(raw.get("sources"), file=file, base=source_base, arxiv=arxiv)
    dedup = _dedup(_section(raw, "dedup", file=file), sources, file=file)
    serve = parse_serve(_section(raw, "serve", file=file), file=file)
    interests = parse_interests(
        raw.get("interests", {}), file=file, where="interests", base=source_base
    )
    summaries = parse_summaries(_section(raw, "summaries", file=file), file=file)
    queue = parse_queue(
        _section(raw, "queue", file=file), file=file, postgres=storage_settings.url is not None
    )
    return Settings(
        storage=storage_settings,
        publish=_publish(publish, work_base=work_base, file=file),
        digest=DigestSettings(timezone=digest_timezone, title=digest["title"]),
        fetch=_fetch(fetch, file=file),
        sources=sources,
        email=email,
        subscribers=subscribers,
        schedule=schedule,
        origin=file,
        arxiv=arxiv,
        dedup=dedup,
        serve=serve,
        interests=interests,
        summaries=summaries,
        queue=queue,
    )


def _toml(text: str, *, file: str) -> dict[str, Any]:
    """The TOML document, with no top-level key that is not a known table."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"not valid TOML: {err}", file=file) from err
    known = {*SCHEMA, "sources", "subscribers"}
    for key in raw:
        if key not in known:
            raise ConfigError(
                "unknown section or key",
                file=file,
                key=key,
                hint=f"known: {', '.join(sorted(known))}",
            )
    return raw


def _publish(values: dict[str, Any], *, work_base: Path, file: str) -> PublishSettings:
    base_url = values["base_url"]
    if not base_url.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"expected an http(s) URL, got {base_url!r}", file=file, key="publish.base_url"
        )
    if values["feed_days"] < 0:
        raise ConfigError("must be 0 or more", file=file, key="publish.feed_days")
    if values["feed_min_entries"] < 1:
        raise ConfigError("must be at least 1", file=file, key="publish.feed_min_entries")
    if values["feed_max_entries"] < 1:
        raise ConfigError("must be at least 1", file=file, key="publish.feed_max_entries")
    return PublishSettings(
        output_dir=work_base / values["output_dir"],
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        title=values["title"],
        feed_days=values["feed_days"],
        feed_min_entries=values["feed_min_entries"],
        feed_max_entries=values["feed_max_entries"],
        formats=_feed_formats(values["formats"], file=file),
        websub_hub=_hub(values["websub_hub"], file=file),
    )


def _hub(value: str, *, file: str) -> str:
    if value and not value.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f'expected an http(s) URL or "", got {value!r}', file=file, key="publish.websub_hub"
        )
    return value


#: Feed formats, in the order they are written and listed.
FEED_FORMATS = ("atom", "json", "rss")


def _feed_formats(values: list[Any], *, file: str) -> tuple[str, ...]:
    key = "publish.formats"
    for value in values:
        if value not in FEED_FORMATS:
            raise ConfigError(
                f"unknown feed format {value!r}",
                file=file,
                key=key,
                hint=f"known: {', '.join(FEED_FORMATS)}",
            )
    if "atom" not in values:
        raise ConfigError(
            'must include "atom"',
            file=file,
            key=key,
            hint="Atom is always written: archives and the index page are built on it",
        )
    return tuple(kind for kind in FEED_FORMATS if kind in values)


def _fetch(values: dict[str, Any], *, file: str) -> FetchSettings:
    for key in ("timeout", "connect_timeout", "read_timeout", "max_bytes", "workers", "per_host"):
        if values[key] <= 0:
            raise ConfigError("must be positive", file=file, key=f"fetch.{key}")
    for key in ("backoff_base", "backoff_max"):
        if values[key] < 0:
            raise ConfigError("must not be negative", file=file, key=f"fetch.{key}")
    intervals = _intervals(values["min_interval"], file=file)
    if values["parser"] not in FEED_ENGINES:
        raise ConfigError(
            f"expected one of {', '.join(FEED_ENGINES)}, got {values['parser']!r}",
            file=file,
            key="fetch.parser",
        )
    processes = values["processes"]
    if isinstance(processes, bool) or (
        processes != "auto" and not (isinstance(processes, int) and processes >= 0)
    ):
        raise ConfigError(
            f'expected "auto" or a number of processes (0 or more), got {processes!r}',
            file=file,
            key="fetch.processes",
        )
    return FetchSettings(
        timeout=float(values["timeout"]),
        max_bytes=values["max_bytes"],
        connect_timeout=float(values["connect_timeout"]),
        read_timeout=float(values["read_timeout"]),
        workers=values["workers"],
        per_host=values["per_host"],
        min_interval=intervals,
        backoff_base=float(values["backoff_base"]),
        backoff_max=float(values["backoff_max"]),
        parser=values["parser"],
        processes=processes,
    )


def _intervals(table: dict[str, Any], *, file: str) -> tuple[tuple[str, float], ...]:
    """``[fetch] min_interval``: (host in lower case, seconds), sorted."""
    intervals: list[tuple[str, float]] = []
    for host, seconds in table.items():
        check_type(seconds, (int, float), file=file, key=f"fetch.min_interval.{host}")
        if seconds < 0:
            raise ConfigError("must not be negative", file=file, key=f"fetch.min_interval.{host}")
        intervals.append((host.lower(), float(seconds)))
    return tuple(sorted(intervals))


def _arxiv(values: dict[str, Any], *, file: str) -> ArxivSettings:
    base_url = values["base_url"]
    if not base_url.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"expected an http(s) URL, got {base_url!r}", file=file, key="arxiv.base_url"
        )
    if values["feed_format"] not in ("rss", "atom"):
        raise ConfigError(
            f"expected 'rss' or 'atom', got {values['feed_format']!r}",
            file=file,
            key="arxiv.feed_format",
        )
    holidays = []
    for index, text in enumerate(values["holidays"]):
        try:
            holidays.append(date.fromisoformat(text))
        except (TypeError, ValueError):
            raise ConfigError(
                f"expected a day as 'YYYY-MM-DD', got {text!r}",
                file=file,
                key=f"arxiv.holidays[{index}]",
            ) from None
    if not values["api_url"].lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"expected an http(s) URL, got {values['api_url']!r}", file=file, key="arxiv.api_url"
        )
    for key in ("api_delay", "catch_up_days"):
        if values[key] < 0:
            raise ConfigError("must not be negative", file=file, key=f"arxiv.{key}")
    return ArxivSettings(
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        feed_format=values["feed_format"],
        holidays=tuple(holidays),
        api_url=values["api_url"],
        api_delay=float(values["api_delay"]),
        catch_up_days=values["catch_up_days"],
    )


def load_config(
    path: Path | None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Settings:
    """Load the config :func:`aggregator.config.locate.locate` picks: ``path``
    (``--config``), else ``$AGGREGATOR_CONFIG``, else ``./aggregator.toml``, else
    ``$XDG_CONFIG_HOME/aggregator/aggregator.toml``, else the embedded default.

    Paths in a config file are relative to that file's folder, so the database and
    the output default to beside it. For the embedded default, sources are the bundled
    samples and outputs go to the current folder. ``environ`` and ``home`` default to
    the process's. Raises ConfigError naming the file (and the variable it came from).
    """
    cwd = cwd or Path.cwd()
    environ = os.environ if environ is None else environ
    if home is None:
        try:
            home = Path.home()
        except RuntimeError:  # no HOME and no passwd entry: skip the XDG folder
            home = cwd
    where = locate(path, cwd=cwd, environ=environ, home=home)
    if where.path is None:
        settings = parse_config(
            resources.default_config().read_text(encoding="utf-8"),
            file="<embedded default>",
            source_base=resources.data_root(),
            work_base=cwd,
        )
        return replace(settings, found_by=where.found_by)
    path = where.path
    via = "" if where.found_by == BY_OPTION else f" (named by {where.found_by})"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no such file{via}", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read{via}: {err}", file=str(path)) from err
    base = path.resolve().parent
    settings = parse_config(text, file=str(path), source_base=base, work_base=base)
    return replace(settings, found_by=where.found_by)
