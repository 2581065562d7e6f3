"""A total time budget for each HTTP request, down to every socket operation.

httpx's timeouts bound each connect, read and write, not a whole request: a server
that sends a byte just before each read timeout (in its headers as much as in its
body) would hold a request for hours. :func:`transport` builds an httpx transport over
an httpcore connection pool whose network backend caps every socket operation at what
is left of the budget the calling thread set with :func:`budget`; when it runs out the
operation raises httpx's timeout error. :func:`proxy_mounts` does the same for the
proxies the environment names (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY), as
httpx reads them for a client built without a transport of its own.

Only public httpx and httpcore API. Owns nothing else; :mod:`aggregator._fetch.http`
uses it.
"""

from __future__ import annotations

import ipaddress
import threading
import time
import urllib.request
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


# -- the transport ------------------------------------------------------------------------

#: httpcore's errors as httpx's, most specific first (what httpx's own transport does).
_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as err:
        for theirs, ours in _ERRORS:
            if isinstance(err, theirs):
                raise ours(str(err)) from err
        raise


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class DeadlineTransport(httpx.BaseTransport):
    """httpx over an httpcore pool (direct or through a proxy) that honours :func:`budget`."""

    def __init__(self, pool: httpcore.ConnectionPool) -> None:
        self._pool = pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        sent = httpcore.Request(
            method=request.method,
            url=_core_url(request.url),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = self._pool.handle_request(sent)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        with _as_httpx_errors():
            self._pool.close()


def _core_url(url: httpx.URL) -> httpcore.URL:
    return httpcore.URL(
        scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
    )


def transport(limits: httpx.Limits, proxy: httpx.Proxy | None = None) -> DeadlineTransport:
    """A transport whose sockets honour :func:`budget`, direct or through ``proxy``.

    Configured as httpx's default transport is (certificates as httpx finds them,
    HTTP/1.1, no retries).
    """
    pool_options: dict[str, Any] = {
        "ssl_context": httpx.create_ssl_context(),
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
        "network_backend": _Backend(),
    }
    if proxy is None:
        return DeadlineTransport(httpcore.ConnectionPool(**pool_options))
    if proxy.url.scheme in ("socks5", "socks5h"):
        return DeadlineTransport(
            httpcore.SOCKSProxy(
                proxy_url=_core_url(proxy.url), proxy_auth=proxy.raw_auth, **pool_options
            )
        )
    return DeadlineTransport(
        httpcore.HTTPProxy(
            proxy_url=_core_url(proxy.url),
            proxy_auth=proxy.raw_auth,
            proxy_headers=proxy.headers.raw,
            proxy_ssl_context=proxy.ssl_context,
            **pool_options,
        )
    )


# -- proxies from the environment -----------------------------------------------------------


def proxy_mounts(limits: httpx.Limits) -> dict[str, httpx.BaseTransport | None]:
    """``httpx.Client(mounts=...)`` for the environment's proxies, with deadlines.

    httpx reads the environment only for a client without a transport of its own;
    this reads it the same way: a proxy per scheme, and ``None`` (no proxy) for each
    host NO_PROXY names.
    """
    return {
        pattern: None if url is None else transport(limits, httpx.Proxy(url))
        for pattern, url in environment_proxies(urllib.request.getproxies()).items()
    }


def environment_proxies(found: dict[str, str]) -> dict[str, str | None]:
    """URL patterns to proxy URLs (``None``: go direct), from ``urllib``'s getproxies()."""
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if found.get(scheme):
            url = found[scheme]
            mounts[f"{scheme}://"] = url if "://" in url else f"http://{url}"
    for host in (part.strip() for part in found.get("no", "").split(",")):
        if host == "*":
            return {}
        if host:
            mounts[_direct_pattern(host)] = None
    return mounts


def _direct_pattern(host: str) -> str:
    # As curl reads NO_PROXY: "example.com" also covers its subdomains.
    if "://" in host:
        return host
    if _is_address(host, ipaddress.IPv4Address) or host.lower() == "localhost":
        return f"all://{host}"
    if _is_address(host, ipaddress.IPv6Address):
        return f"all://[{host}]"
    return f"all://*{host}"


def _is_address(host: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        kind(host.split("/")[0])
    except ValueError:
        return False
    return True
