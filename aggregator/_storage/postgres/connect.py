"""Reaching a PostgreSQL server: connection settings, the pool, text adaptation, errors.

Owns turning ``[storage] url`` and ``password_env`` into libpq connection settings,
one connection pool per database per process (psycopg_pool), the adapters every
connection gets, and wording psycopg's errors for people as :class:`StorageError`.
Never runs a query of the store's own.

PostgreSQL text cannot hold the NUL character, which a hostile feed can put into a
guid (and so a key) or a title; SQLite stores it. So that such an entry is stored, and
known again, instead of failing its whole batch, every string goes in with NUL
written as U+FFFF followed by ``0`` (and U+FFFF itself as U+FFFF twice), and comes out
decoded again: the encoding is one-to-one, so equality and uniqueness are kept.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError, StorageError

if TYPE_CHECKING:
    import psycopg
    import psycopg_pool

    from ...config.settings import StorageSettings

#: Seconds to wait for a connection (from the pool, or to the server).
CONNECT_TIMEOUT = 30.0

_ESCAPE = "\uffff"
_pools: dict[tuple[str, str | None], psycopg_pool.ConnectionPool[Any]] = {}
_pools_lock = threading.Lock()


def encode_text(value: str) -> str:
    """``value`` with NUL (and the escape character) written so PostgreSQL takes it."""
    if "\x00" not in value and _ESCAPE not in value:
        return value
    return value.replace(_ESCAPE, _ESCAPE * 2).replace("\x00", _ESCAPE + "0")


def decode_text(value: str) -> str:
    """The inverse of :func:`encode_text`."""
    if _ESCAPE not in value:
        return value
    out: list[str] = []
    index = 0
    while index < len(value):
        char = value[index]
        if char == _ESCAPE and index + 1 < len(value):
            follower = value[index + 1]
            out.append("\x00" if follower == "0" else _ESCAPE)
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def conninfo(settings: StorageSettings) -> str:
    """libpq's connection string for ``settings``: the URL, plus the password read
    from ``password_env`` when one is named (ConfigError when that variable is unset)."""
    from psycopg.conninfo import make_conninfo

    assert settings.url is not None
    extra: dict[str, Any] = {"connect_timeout": int(CONNECT_TIMEOUT)}
    if settings.password_env is not None:
        password = os.environ.get(settings.password_env)
        if password is None:
            raise ConfigError(
                f"the environment variable {settings.password_env} is not set",
                key="storage.password_env",
                hint=f"export {settings.password_env}=<the database password> before running",
            )
        extra["password"] = password
    extra.setdefault("application_name", "aggregator")
    return make_conninfo(settings.url, **extra)


def configure(conn: psycopg.Connection[Any]) -> None:
    """What every connection gets: autocommit (the store opens its transactions
    itself), UTC, and the NUL-safe text adapters (see the module docstring)."""
    from psycopg.types.string import (
        StrBinaryDumper,
        StrDumper,
        StrDumperUnknown,
        TextBinaryLoader,
        TextLoader,
    )

    class Dumper(StrDumperUnknown):
        def dump(self, obj: str) -> Any:
            return super().dump(encode_text(obj))

    class TypedDumper(StrDumper):
        def dump(self, obj: str) -> Any:
            return super().dump(encode_text(obj))

    class BinaryDumper(StrBinaryDumper):
        def dump(self, obj: str) -> Any:
            return super().dump(encode_text(obj))

    class Loader(TextLoader):
        def load(self, data: Any) -> Any:
            return decode_text(str(super().load(data)))

    class BinaryLoader(TextBinaryLoader):
        def load(self, data: Any) -> Any:
            return decode_text(str(super().load(data)))

    conn.autocommit = True
    conn.adapters.register_dumper(str, BinaryDumper)
    conn.adapters.register_dumper(str, TypedDumper)
    conn.adapters.register_dumper(str, Dumper)  # last: the default, as psycopg has it
    for name in ("text", "varchar", "bpchar", "name"):
        conn.adapters.register_loader(name, Loader)
        conn.adapters.register_loader(name, BinaryLoader)
    conn.execute("SET TIME ZONE 'UTC'")


def pool_for(settings: StorageSettings) -> psycopg_pool.ConnectionPool[Any]:
    """This process's pool for the database of ``settings`` (opened on first use)."""
    import psycopg_pool

    info = conninfo(settings)
    key = (info, settings.password_env)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = psycopg_pool.ConnectionPool(
                info,
                min_size=0,
                max_size=8,
                open=False,
                configure=configure,
                reset=_reset,
                timeout=CONNECT_TIMEOUT,
                name="aggregator",
            )
            _pools[key] = pool
    try:
        pool.open(wait=False)
    except Exception as err:  # pragma: no cover - open(wait=False) starts threads only
        raise StorageError(f"cannot open a connection pool to {settings.url}: {err}") from err
    return pool


def _reset(conn: psycopg.Connection[Any]) -> None:
    """A connection back in the pool holds no transaction and no session lock."""
    conn.execute("ROLLBACK") if conn.info.transaction_status else None
    conn.execute("SELECT pg_advisory_unlock_all()")


def close_pools() -> None:
    """Close every pool this process opened (tests; a worker shutting down)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


def connect(settings: StorageSettings) -> psycopg.Connection[Any]:
    """A configured connection from the pool; StorageError (worded) when none can be had."""
    import psycopg
    import psycopg_pool

    pool = pool_for(settings)
    try:
        conn: psycopg.Connection[Any] = pool.getconn()
        return conn
    except psycopg_pool.PoolTimeout as err:
        # The pool hides why: try once directly to say it.
        try:
            psycopg.connect(conninfo(settings)).close()
        except psycopg.Error as direct:
            raise storage_error(direct, settings.describe()) from direct
        raise StorageError(
            f"no connection to {settings.describe()} within {CONNECT_TIMEOUT:g} s",
            hint="the server may be overloaded, or at max_connections",
        ) from err


def give_back(settings: StorageSettings, conn: psycopg.Connection[Any]) -> None:
    """Return ``conn`` to its pool (closed instead when it is broken)."""
    pool_for(settings).putconn(conn)


def storage_error(err: Exception, where: str) -> StorageError:
    """``err`` (a psycopg error) as one line for people, naming the database."""
    text = " ".join(str(err).split())
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return StorageError(
            f"PostgreSQL refused the login to {where}: {text}",
            hint="give the password through [storage] password_env, PGPASSWORD or ~/.pgpass",
        )
    if "does not exist" in lowered and "database" in lowered:
        return StorageError(
            f"{where}: {text}",
            hint="create it first (createdb, or CREATE DATABASE), or fix [storage] url",
        )
    if "connection refused" in lowered or "could not connect" in lowered or "timeout" in lowered:
        return StorageError(
            f"cannot connect to PostgreSQL at {where}: {text}",
            hint="check the server is running and [storage] url names its host and port",
        )
    if "read-only" in lowered or "permission denied" in lowered:
        return StorageError(
            f"{where}: {text}",
            hint="the database user needs to create tables and write them (GRANT ...)",
        )
    return StorageError(f"database {where}: {text}")
