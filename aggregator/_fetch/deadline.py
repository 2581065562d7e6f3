"""A total time budget for each HTTP request, down to every socket operation.

httpx's timeouts bound each connect, read and write, not a whole request: a server
that sends a byte just before each read timeout (in its headers as much as in its
body) would hold a request for hours. :func:`install` makes an httpx client's sockets
cap every operation at what is left of the budget the calling thread set with
:func:`budget`; when it runs out the operation raises httpx's timeout error.

Owns nothing else; :mod:`aggregator._fetch.http` uses it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from ssl import SSLContext
from typing import Any

import httpcore
import httpx

_local = threading.local()


@contextmanager
def budget(seconds: float) -> Iterator[float]:
    """Cap the socket operations of this thread's requests at ``seconds`` from now.

    Yields the deadline (a ``time.monotonic()`` value).
    """
    deadline = time.monotonic() + seconds
    _local.deadline = deadline
    try:
        yield deadline
    finally:
        _local.deadline = None


def _cap(timeout: float | None) -> float | None:
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    remaining = max(deadline - time.monotonic(), 0.001)  # 0 would mean non-blocking
    return remaining if timeout is None else min(timeout, remaining)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _cap(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _cap(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _cap(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _cap(timeout), local_address, socket_options)
        return _Stream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:  # pragma: no cover - feeds are not read over Unix sockets
        return _Stream(self._inner.connect_unix_socket(path, _cap(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install(client: httpx.Client) -> httpx.Client:
    """Make ``client``'s sockets honour :func:`budget`; returns the client.

    httpx has no public hook for httpcore's network backend, so this sets the
    connection pools' of the client's transports (the direct one and those for
    HTTP(S)_PROXY from the environment). Should a future httpx rename them, requests
    still get the per-operation timeouts and the body loop's deadline check in ``fetch``.
    """
    transports = [getattr(client, "_transport", None)]
    transports += list(getattr(client, "_mounts", {}).values())
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if pool is not None and hasattr(pool, "_network_backend"):
            pool._network_backend = _Backend()
    return client
