"""Configuration: a TOML file read once into validated, typed, frozen settings.

Owns the schema of every key (type, default, help), the embedded default
configuration, and the rules for relative paths. Reads only the config file itself.
An unknown key or a wrong type is a :class:`ConfigError` naming the key and the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import resources
from .errors import ConfigError
from .parsers import FEED_ENGINES
from .sources import KINDS, Source

DEFAULT_CONFIG_NAME = "aggregator.toml"


@dataclass(frozen=True)
class StorageSettings:
    database: Path


@dataclass(frozen=True)
class PublishSettings:
    output_dir: Path
    base_url: str
    title: str
    feed_max_entries: int


@dataclass(frozen=True)
class DigestSettings:
    timezone: str
    title: str


@dataclass(frozen=True)
class FetchSettings:
    timeout: float
    max_bytes: int
    #: "auto" (fast lxml path, feedparser fallback) or "feedparser".
    parser: str = "auto"


@dataclass(frozen=True)
class Settings:
    """Everything a run needs, validated. Passed explicitly; never global."""

    storage: StorageSettings
    publish: PublishSettings
    digest: DigestSettings
    fetch: FetchSettings
    sources: tuple[Source, ...]
    #: Where the settings came from, for messages ("<embedded default>" or a path).
    origin: str = "<embedded default>"
    #: Unused sections or values worth telling the user about.
    notes: tuple[str, ...] = field(default=())


# key: (type, default, help). The help strings are what config/example.toml documents;
# tests check that each key appears there.
SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], Any, str]]] = {
    "storage": {
        "database": (str, "aggregator.db", "SQLite database file"),
    },
    "publish": {
        "output_dir": (str, "public", "folder for feeds, digests and the index page"),
        "base_url": (str, "http://localhost:8000/", "public URL of output_dir, for self links"),
        "title": (str, "aggregator", "title of the index page and prefix of feed titles"),
        "feed_max_entries": (int, 100, "newest entries kept in each category feed"),
    },
    "digest": {
        "timezone": (str, "UTC", "IANA time zone that decides which day an entry belongs to"),
        "title": (str, "Daily digest", "title shown at the top of each digest"),
    },
    "fetch": {
        "timeout": ((int, float), 30.0, "seconds before an HTTP request is abandoned"),
        "max_bytes": (int, 20_000_000, "largest response accepted, in bytes"),
        "parser": (str, "auto", "RSS/Atom reader: auto (fast, feedparser fallback) | feedparser"),
    },
}

SOURCE_SCHEMA: dict[str, tuple[type | tuple[type, ...], Any, str]] = {
    "name": (str, None, "unique name of the source (required)"),
    "kind": (str, "feed", "feed | arxiv | markdown-digest | markdown | page"),
    "url": (str, None, "http(s) URL to fetch (give url or path)"),
    "path": (str, None, "local file, relative to the config file (give url or path)"),
    "categories": (list, None, "categories to file every entry under"),
    "entry_categories": (bool, None, "also use the categories entries carry themselves"),
    "timezone": (str, "UTC", "time zone of times the source gives without an offset"),
    "enabled": (bool, True, "false skips the source without removing it"),
}


def _check_type(value: Any, expected: type | tuple[type, ...], *, file: str, key: str) -> None:
    # bool is an int in Python; a boolean where a number is expected is still a mistake.
    ok = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
    if not ok:
        names = (
            " or ".join(t.__name__ for t in expected)
            if isinstance(expected, tuple)
            else expected.__name__
        )
        raise ConfigError(
            f"expected {names}, got {type(value).__name__} {value!r}", file=file, key=key
        )


def _section(raw: dict[str, Any], name: str, *, file: str) -> dict[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError("expected a table", file=file, key=f"[{name}]")
    spec = SCHEMA[name]
    for key in table:
        if key not in spec:
            raise ConfigError(
                "unknown key",
                file=file,
                key=f"{name}.{key}",
                hint=f"known keys in [{name}]: {', '.join(spec)}",
            )
    values: dict[str, Any] = {}
    for key, (typ, default, _help) in spec.items():
        value = table.get(key, default)
        _check_type(value, typ, file=file, key=f"{name}.{key}")
        values[key] = value
    return values


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


def _sources(raw: Any, *, file: str, base: Path) -> tuple[Source, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("expected an array of tables ([[sources]])", file=file, key="sources")
    sources: list[Source] = []
    seen: set[str] = set()
    for index, table in enumerate(raw):
        where = f"sources[{index}]"
        if not isinstance(table, dict):
            raise ConfigError("expected a table", file=file, key=where)
        for key in table:
            if key not in SOURCE_SCHEMA:
                raise ConfigError(
                    "unknown key",
                    file=file,
                    key=f"{where}.{key}",
                    hint=f"known keys: {', '.join(SOURCE_SCHEMA)}",
                )
        values = {}
        for key, (typ, default, _help) in SOURCE_SCHEMA.items():
            value = table.get(key, default)
            if value is not None:
                _check_type(value, typ, file=file, key=f"{where}.{key}")
            values[key] = value
        name = values["name"]
        if not name:
            raise ConfigError("every source needs a name", file=file, key=f"{where}.name")
        where = f"sources[{index}] ({name})"
        if name in seen:
            raise ConfigError(f"source name {name!r} is used twice", file=file, key=where)
        seen.add(name)
        if values["kind"] not in KINDS:
            raise ConfigError(
                f"unknown kind {values['kind']!r}",
                file=file,
                key=f"{where}.kind",
                hint=f"one of: {', '.join(KINDS)}",
            )
        url, path = values["url"], values["path"]
        if (url is None) == (path is None):
            raise ConfigError("give exactly one of url or path", file=file, key=where)
        if url is not None and not url.lower().startswith(("http://", "https://")):
            raise ConfigError(
                f"url must be http(s), got {url!r}",
                file=file,
                key=f"{where}.url",
                hint="use path = ... for a local file",
            )
        categories = values["categories"]
        if categories is not None and not all(isinstance(c, str) and c.strip() for c in categories):
            raise ConfigError(
                "categories must be non-empty strings", file=file, key=f"{where}.categories"
            )
        sources.append(
            Source(
                name=name,
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
            )
        )
    return tuple(sources)


def parse_config(text: str, *, file: str, source_base: Path, work_base: Path) -> Settings:
    """Validate TOML text into Settings.

    Relative source paths resolve against ``source_base``; the database and output
    folder against ``work_base``.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"not valid TOML: {err}", file=file) from err
    known = {*SCHEMA, "sources"}
    for key in raw:
        if key not in known:
            raise ConfigError(
                "unknown section or key",
                file=file,
                key=key,
                hint=f"known: {', '.join(sorted(known))}",
            )
    storage = _section(raw, "storage", file=file)
    publish = _section(raw, "publish", file=file)
    digest = _section(raw, "digest", file=file)
    fetch = _section(raw, "fetch", file=file)
    base_url = publish["base_url"]
    if not base_url.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"expected an http(s) URL, got {base_url!r}", file=file, key="publish.base_url"
        )
    if publish["feed_max_entries"] < 1:
        raise ConfigError("must be at least 1", file=file, key="publish.feed_max_entries")
    if fetch["timeout"] <= 0 or fetch["max_bytes"] <= 0:
        raise ConfigError("must be positive", file=file, key="fetch")
    if fetch["parser"] not in FEED_ENGINES:
        raise ConfigError(
            f"expected one of {', '.join(FEED_ENGINES)}, got {fetch['parser']!r}",
            file=file,
            key="fetch.parser",
        )
    return Settings(
        storage=StorageSettings(database=work_base / storage["database"]),
        publish=PublishSettings(
            output_dir=work_base / publish["output_dir"],
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            title=publish["title"],
            feed_max_entries=publish["feed_max_entries"],
        ),
        digest=DigestSettings(
            timezone=_timezone(digest["timezone"], file=file, key="digest.timezone"),
            title=digest["title"],
        ),
        fetch=FetchSettings(
            timeout=float(fetch["timeout"]), max_bytes=fetch["max_bytes"], parser=fetch["parser"]
        ),
        sources=_sources(raw.get("sources"), file=file, base=source_base),
        origin=file,
    )


def load_config(path: Path | None, *, cwd: Path | None = None) -> Settings:
    """Load ``path``; else ``./aggregator.toml`` if present; else the embedded default.

    Paths in a config file are relative to that file's folder. For the embedded
    default, sources are the bundled samples and outputs go to the current folder.
    """
    cwd = cwd or Path.cwd()
    if path is None and (cwd / DEFAULT_CONFIG_NAME).is_file():
        path = cwd / DEFAULT_CONFIG_NAME
    if path is None:
        return parse_config(
            resources.default_config().read_text(encoding="utf-8"),
            file="<embedded default>",
            source_base=resources.data_root(),
            work_base=cwd,
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read: {err}", file=str(path)) from err
    base = path.resolve().parent
    return parse_config(text, file=str(path), source_base=base, work_base=base)
