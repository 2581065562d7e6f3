"""How a source's server wants to be asked: login, extra headers, its own User-Agent.

Owns the ``auth``, ``headers``, ``user_agent`` and ``cookies_env`` keys of a
``[[sources]]`` table, checked into a frozen :class:`Access`. Secrets never pass
through here: the config names the environment variables that hold them, and the
fetch stage reads those when it sends the request (aggregator._fetch.access), so no
setting, message or stored row can carry a password. Reads no environment itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .._common import safety
from ..errors import ConfigError
from .schema import Schema, typed_table

AUTH_SCHEMA: Schema = {
    "type": (str, None, "basic | bearer"),
    "username": (str, None, "basic: the user name"),
    "password_env": (str, None, "basic: NAME of the environment variable with the password"),
    "token_env": (str, None, "bearer: NAME of the environment variable with the token"),
}

_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOKEN_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP field name (RFC 9110)
#: Headers aggregator sets itself, or that the keys above own.
_RESERVED = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "accept-encoding",
        "if-none-match",
        "if-modified-since",
        "authorization",
        "cookie",
        "user-agent",
    }
)


@dataclass(frozen=True)
class Access:
    """What a source's requests carry beyond aggregator's own headers.

    Holds the names of environment variables, never their values.
    """

    #: "basic", "bearer" or None.
    auth: str | None = None
    username: str | None = None
    password_env: str | None = None
    token_env: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    user_agent: str | None = None
    cookies_env: str | None = None

    @property
    def any(self) -> bool:
        """Whether the source asks for anything beyond the defaults."""
        return self != Access()


NO_ACCESS = Access()


def access_from(values: dict[str, Any], where: str, *, file: str, url: str | None) -> Access:
    """The ``Access`` of one source's type-checked values. Raises ConfigError."""
    auth, headers = values.get("auth"), values.get("headers")
    user_agent, cookies_env = values.get("user_agent"), values.get("cookies_env")
    if auth is None and headers is None and user_agent is None and cookies_env is None:
        return NO_ACCESS
    if url is None:
        raise ConfigError(
            "auth, headers, user_agent and cookies_env are for sources with a url",
            file=file,
            key=where,
        )
    access = _auth(auth, f"{where}.auth", file=file) if auth is not None else NO_ACCESS
    return Access(
        auth=access.auth,
        username=access.username,
        password_env=access.password_env,
        token_env=access.token_env,
        headers=_headers(headers or {}, f"{where}.headers", file=file),
        user_agent=_one_line(user_agent, f"{where}.user_agent", file=file),
        cookies_env=_env(cookies_env, f"{where}.cookies_env", file=file),
    )


def _auth(table: Any, where: str, *, file: str) -> Access:
    v = typed_table(table, AUTH_SCHEMA, file=file, where=where)
    kind = v["type"]
    if kind == "basic":
        if v["username"] is None or v["password_env"] is None or v["token_env"] is not None:
            raise ConfigError(
                "basic auth needs username and password_env (and no token_env)",
                file=file,
                key=where,
                hint='auth = { type = "basic", username = "me", password_env = "FEED_PASSWORD" }',
            )
        return Access(
            auth="basic",
            username=_one_line(v["username"], f"{where}.username", file=file),
            password_env=_env(v["password_env"], f"{where}.password_env", file=file),
        )
    if kind == "bearer":
        if v["token_env"] is None or v["username"] is not None or v["password_env"] is not None:
            raise ConfigError(
                "bearer auth needs token_env (and no username or password_env)",
                file=file,
                key=where,
                hint='auth = { type = "bearer", token_env = "FEED_TOKEN" }',
            )
        return Access(
            auth="bearer", token_env=_env(v["token_env"], f"{where}.token_env", file=file)
        )
    raise ConfigError(
        f"unknown auth type {kind!r}" if kind else "auth needs a type",
        file=file,
        key=f"{where}.type",
        hint="basic or bearer",
    )


def _headers(table: Any, where: str, *, file: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(table, dict):
        raise ConfigError("expected a table of header = value", file=file, key=where)
    found: list[tuple[str, str]] = []
    for name, value in table.items():
        key = f"{where}.{name}"
        if not _TOKEN_RE.match(name):
            raise ConfigError(f"{name!r} is not an HTTP header name", file=file, key=key)
        if name.lower() in _RESERVED:
            raise ConfigError(
                f"the {name} header is not set here",
                file=file,
                key=key,
                hint="use auth, cookies_env or user_agent; aggregator sets the others itself",
            )
        if not isinstance(value, str):
            raise ConfigError(f"expected a string, got {type(value).__name__}", file=file, key=key)
        found.append((name, _one_line(value, key, file=file) or ""))
    return tuple(found)


def _env(name: str | None, key: str, *, file: str) -> str | None:
    if name is not None and not _ENV_RE.match(name):
        raise ConfigError(
            f"{name!r} is not an environment variable name",
            file=file,
            key=key,
            hint="the NAME of the variable (letters, digits, _), not its value",
        )
    return name


def _one_line(value: str | None, key: str, *, file: str) -> str | None:
    if value is not None and (safety.has_controls(value) or not value.strip()):
        raise ConfigError(
            "expected one line of text without control characters", file=file, key=key
        )
    return value
