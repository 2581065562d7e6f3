"""The request headers a source's :class:`~aggregator.config.access.Access` comes to.

Owns reading the secrets a source's config names (a password, a token, cookies)
from the environment when the request is made, and turning them into headers. A
secret goes into a request header and nowhere else: messages name the environment
variable, never its value. Never does network I/O.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from ..config.access import Access
from ..errors import FetchError


def request_headers(
    access: Access, *, source: str, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The headers ``access`` adds to a request of ``source``. Raises FetchError when an
    environment variable it names is unset or empty."""
    env = os.environ if environ is None else environ
    headers = dict(access.headers)
    if access.user_agent is not None:
        headers["User-Agent"] = access.user_agent
    if access.auth == "basic":
        assert access.username is not None and access.password_env is not None
        password = _secret(env, access.password_env, "auth.password_env", source)
        pair = f"{access.username}:{password}".encode()
        headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
    elif access.auth == "bearer":
        assert access.token_env is not None
        headers["Authorization"] = (
            f"Bearer {_secret(env, access.token_env, 'auth.token_env', source)}"
        )
    if access.cookies_env is not None:
        headers["Cookie"] = _secret(env, access.cookies_env, "cookies_env", source)
    return headers


def _secret(env: Mapping[str, str], name: str, key: str, source: str) -> str:
    value = env.get(name, "")
    if not value.strip():
        raise FetchError(
            f"not fetched: the environment variable {name} ({key}) is not set",
            source=source,
            hint=f"export {name} in the environment that runs aggregator",
        )
    if any(char in value for char in "\r\n\0"):
        raise FetchError(
            f"not fetched: the environment variable {name} ({key}) holds a line break",
            source=source,
            hint=f"set {name} to one line",
        )
    return value.strip()
