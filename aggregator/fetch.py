"""Getting a source's bytes: reading local files and HTTP GET.

Owns timeouts, the response size cap and the User-Agent. Never parses: it hands
bytes plus the Content-Type to the parse stage. Every failure becomes a
:class:`FetchError` naming the source and saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from . import __version__
from .config import FetchSettings
from .errors import FetchError
from .sources import Source

USER_AGENT = f"aggregator/{__version__} (+https://github.com/aggregator-dev/aggregator)"


@dataclass(frozen=True)
class Fetched:
    """The bytes of one source and what came with them."""

    data: bytes
    content_type: str | None = None
    status: int | None = None


def fetch(source: Source, settings: FetchSettings, client: httpx.Client | None = None) -> Fetched:
    """Read the source's file or GET its URL. Raises FetchError."""
    if source.path is not None:
        return _read_file(source, settings)
    assert source.url is not None
    if client is None:
        with make_client(settings) as own:
            return _get(source, settings, own)
    return _get(source, settings, client)


def make_client(settings: FetchSettings) -> httpx.Client:
    """An HTTP client with the project's User-Agent, timeouts and redirect policy."""
    return httpx.Client(
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(settings.timeout),
        follow_redirects=True,
        max_redirects=10,
    )


def _read_file(source: Source, settings: FetchSettings) -> Fetched:
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


def _get(source: Source, settings: FetchSettings, client: httpx.Client) -> Fetched:
    assert source.url is not None
    try:
        with client.stream("GET", source.url) as response:
            if response.status_code >= 400:
                raise FetchError(
                    f"HTTP {response.status_code} {response.reason_phrase} from {source.url}",
                    source=source.name,
                    hint="check the URL" if response.status_code in (404, 410) else None,
                )
            chunks: list[bytes] = []
            total = 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > settings.max_bytes:
                    raise FetchError(
                        f"response from {source.url} is over {settings.max_bytes} bytes",
                        source=source.name,
                        hint="raise [fetch].max_bytes if the feed is right",
                    )
                chunks.append(chunk)
            return Fetched(
                data=b"".join(chunks),
                content_type=response.headers.get("content-type"),
                status=response.status_code,
            )
    except httpx.TooManyRedirects as err:
        raise FetchError(f"too many redirects from {source.url}", source=source.name) from err
    except httpx.TimeoutException as err:
        raise FetchError(
            f"timed out after {settings.timeout:g} s fetching {source.url}",
            source=source.name,
            hint="the server is slow or down; raise [fetch].timeout if it is just slow",
        ) from err
    except httpx.HTTPError as err:
        raise FetchError(f"cannot fetch {source.url}: {err}", source=source.name) from err
