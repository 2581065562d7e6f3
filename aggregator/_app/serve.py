"""``aggregator serve``: the output folder over HTTP, for feed readers and browsers.

Owns answering GET and HEAD for files under the output folder (and hands
``/unsubscribe`` to ``unsubscribe_http`` when the config mails digests):

- types with a charset: ``application/atom+xml; charset=utf-8`` for feeds,
  ``text/html; charset=utf-8``, ``text/plain; charset=utf-8`` for digests;
- a strong ``ETag`` from the content's hash (so a feed republished within the same
  second still gets a new one; the gzip variant has its own), and ``Last-Modified``;
  ``If-None-Match`` (preferred) and ``If-Modified-Since`` answer 304;
- gzip when the client accepts it (``Vary: Accept-Encoding``);
- ``index.html`` for a folder (a folder without the final ``/`` is redirected);
- paths outside the folder are refused: ``..`` (also percent-encoded), and symlinks
  whose target is outside; hidden files (an interrupted write's ``.x.tmp``) are not
  served.

``Last-Modified`` has whole seconds only, so it is sent only once the second of the
file's last change is over (the trick git uses against "racy" timestamps): a client can
never hold a date that a later change within the same second would also match.

Every response carries the security headers of ``SECURITY_HEADERS`` (a
Content-Security-Policy that allows the pages' inline CSS and nothing active).

``/search`` (when the server is given a ``search`` page maker, as ``aggregator serve``
does) answers with the HTML page that maker renders for the query string: a page made
per request, never cached (``Cache-Control: no-store``). With it, ``front_page`` puts
the search box into the front page (the root's ``index.html``) as it is served; the
file on disk has none (a static copy has no /search to send it to).

Connections (timeouts, their number, clients that go away) are ``httpserver.py``'s.
Never writes a file, never follows a path out of the folder.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import logging
import mimetypes
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from ..config.serve import ServeSettings
from . import unsubscribe_http
from .httpserver import BoundedHandler, BoundedServer

log = logging.getLogger(__name__)

#: Content types by suffix; text types carry their charset.
CONTENT_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/feed+json",  # the JSON we publish is JSON Feed (its spec's type)
    ".rss": "application/rss+xml; charset=utf-8",
    ".svg": "image/svg+xml",
}

#: Below this size gzip saves nothing worth the CPU.
GZIP_MIN_BYTES = 512

#: Files larger than this are not cached in memory (hash and gzip are recomputed).
CACHE_MAX_BYTES = 8_000_000

#: The published pages carry their CSS inline (a <style> element and style attributes,
#: since the digest's HTML is also the email's) and have no script, frame or image;
#: the one form is the search box, sent to this server. So: nothing active from
#: anywhere, CSS from the page itself or this server, images only from here (a
#: browser's /favicon.ico), forms only to here, and the page may not be framed.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",  # the search page's form (a GET to /search)
        "frame-ancestors 'none'",
    )
)

#: Sent with every response, errors and 304s included. ``no-referrer``: the digests
#: link to the articles' sites, which have no need to learn the address (often a
#: private one) or the page a reader came from.
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def content_type(path: Path) -> str:
    known = CONTENT_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def compressible(kind: str) -> bool:
    return kind.startswith("text/") or "xml" in kind or "json" in kind or "javascript" in kind


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Representation:
    """One file as served: its bytes (plain and gzip) and validators."""

    data: bytes
    gzipped: bytes | None
    etag: str
    gzip_etag: str
    mtime: float


class FileCache:
    """Hashes and gzip bodies of served files, valid while the file's inode is unchanged.

    Atomic publishing replaces files by rename, so a changed file has a new inode (or
    size or mtime): the key makes a stale entry impossible to hit.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[int, int, int, int, bool], Representation] = {}

    def load(
        self, path: Path, kind: str, *, rewrite: Callable[[bytes], bytes] | None = None
    ) -> Representation:
        """``path`` as served; ``rewrite`` changes its bytes first (one rewrite per file:
        the front page's search box)."""
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, rewrite is not None)
            with self._lock:
                cached = self._items.get(key)
            if cached is not None:
                return cached
            data = handle.read()
        if rewrite is not None:
            data = rewrite(data)
        digest = hashlib.sha256(data).hexdigest()[:32]
        gzipped = None
        if compressible(kind) and len(data) >= GZIP_MIN_BYTES:
            gzipped = gzip.compress(data, compresslevel=6, mtime=0)
        item = Representation(
            data=data,
            gzipped=gzipped,
            etag=f'"{digest}"',
            gzip_etag=f'"{digest}-gzip"',
            mtime=info.st_mtime,
        )
        if len(data) <= CACHE_MAX_BYTES:
            with self._lock:
                if len(self._items) > 1000:
                    self._items.clear()
                self._items[key] = item
        return item


class Refused(Exception):
    """The request path is outside the folder or otherwise not servable."""

    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status.phrase)
        self.status = status


def resolve(root: Path, raw_path: str) -> Path:
    """The file or folder under ``root`` that ``raw_path`` names; Refused otherwise.

    ``root`` must be resolved. ``..`` segments (decoded or not), NUL bytes and
    backslashes are refused with 403, hidden names with 404; a path whose real location
    (after symlinks) is outside ``root`` is refused with 403.
    """
    path = unquote(urlsplit(raw_path).path, errors="strict")
    if "\x00" in path or "\\" in path:
        raise Refused(HTTPStatus.FORBIDDEN)
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise Refused(HTTPStatus.FORBIDDEN)
    if any(part.startswith(".") for part in parts):
        raise Refused(HTTPStatus.NOT_FOUND)
    target = root.joinpath(*parts)
    try:
        real = target.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        raise Refused(HTTPStatus.NOT_FOUND) from None
    except (OSError, RuntimeError):  # a symlink loop, a permission problem
        raise Refused(HTTPStatus.FORBIDDEN) from None
    if not real.is_relative_to(root):
        raise Refused(HTTPStatus.FORBIDDEN)
    return real


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip (``gzip;q=0`` does not)."""
    if not header:
        return False
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        return q > 0
    return False


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison: ``W/"x"`` matches ``"x"``."""
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


class Handler(BoundedHandler):
    """Answers GET and HEAD from ``server.root``; see the module docstring."""

    server: FeedServer
    server_version = "aggregator"
    #: Replace security headers for one response (the unsubscribe page's form).
    extra_headers: dict[str, str] = {}  # noqa: RUF012 - replaced, never mutated

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        for name, value in {**SECURITY_HEADERS, **self.extra_headers}.items():
            self.send_header(name, value)

    def do_GET(self) -> None:
        if not self._unsubscribe("GET"):
            self._answer(send_body=True)

    def do_HEAD(self) -> None:
        if not self._unsubscribe("HEAD"):
            self._answer(send_body=False)

    def do_POST(self) -> None:
        if not self._unsubscribe("POST"):
            self._not_allowed()

    def _unsubscribe(self, method: str) -> bool:
        """Answer ``/unsubscribe`` when serving it (see unsubscribe_http); False if not."""
        unsubscriber = self.server.unsubscriber
        if unsubscriber is None or urlsplit(self.path).path != unsubscribe_http.PATH:
            return False
        unsubscribe_http.answer(self, unsubscriber, method=method)
        return True

    def _not_allowed(self) -> None:
        self._plain(HTTPStatus.METHOD_NOT_ALLOWED, {"Allow": "GET, HEAD"})

    do_PUT = do_DELETE = do_PATCH = _not_allowed

    def send_page(
        self, status: HTTPStatus, headers: dict[str, str], body: bytes, *, send_body: bool
    ) -> None:
        """Send a whole response (status, headers, body) built elsewhere."""
        self._send(status, headers, body, send_body=send_body)

    def _answer(self, *, send_body: bool) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/search" and self.server.search is not None:
            body = self.server.search(parts.query).encode("utf-8")
            headers = {"Content-Type": CONTENT_TYPES[".html"], "Cache-Control": "no-store"}
            self._send(HTTPStatus.OK, headers, body, send_body=send_body)
            return
        try:
            target = resolve(self.server.root, self.path)
        except Refused as refused:
            self._plain(refused.status, send_body=send_body)
            return
        except UnicodeDecodeError:
            self._plain(HTTPStatus.BAD_REQUEST, send_body=send_body)
            return
        if target.is_dir():
            if not urlsplit(self.path).path.endswith("/"):
                location = quote(urlsplit(self.path).path) + "/"
                self._plain(HTTPStatus.MOVED_PERMANENTLY, {"Location": location}, send_body)
                return
            target = target / "index.html"
            if not target.is_file():
                self._plain(HTTPStatus.NOT_FOUND, send_body=send_body)
                return
        if not target.is_file():
            self._plain(HTTPStatus.NOT_FOUND, send_body=send_body)
            return
        kind = content_type(target)
        front_page = self.server.front_page
        rewrite = front_page if front_page and target == self.server.root / "index.html" else None
        try:
            item = self.server.cache.load(target, kind, rewrite=rewrite)
        except OSError:
            self._plain(HTTPStatus.NOT_FOUND, send_body=send_body)
            return
        use_gzip = item.gzipped is not None and accepts_gzip(self.headers.get("Accept-Encoding"))
        body = item.gzipped if use_gzip and item.gzipped is not None else item.data
        headers = {
            "Content-Type": kind,
            "ETag": item.gzip_etag if use_gzip else item.etag,
            "Cache-Control": "no-cache",
        }
        if compressible(kind):
            headers["Vary"] = "Accept-Encoding"
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        seconds = int(item.mtime)
        if self.server.clock() >= seconds + 1:
            headers["Last-Modified"] = formatdate(seconds, usegmt=True)
        if self._not_modified(headers, seconds):
            headers.pop("Content-Type")
            self._send(HTTPStatus.NOT_MODIFIED, headers, b"", send_body=False)
            return
        self._send(HTTPStatus.OK, headers, body, send_body=send_body)

    def _not_modified(self, headers: dict[str, str], seconds: int) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            # RFC 9110 13.2.2: If-None-Match wins; If-Modified-Since is then ignored.
            return etag_matches(if_none_match, headers["ETag"])
        since = self.headers.get("If-Modified-Since")
        if since is None or "Last-Modified" not in headers:
            return False
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:
            return False
        return seconds <= when.timestamp()

    def _plain(
        self,
        status: HTTPStatus,
        extra: dict[str, str] | None = None,
        send_body: bool = True,
    ) -> None:
        body = f"{status.value} {status.phrase}\n".encode()
        headers = {"Content-Type": "text/plain; charset=utf-8", **(extra or {})}
        self._send(status, headers, body, send_body=send_body)

    def _send(
        self, status: HTTPStatus, headers: dict[str, str], body: bytes, *, send_body: bool
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


class FeedServer(BoundedServer):
    """A threading HTTP server over one folder, its connections bounded by ``settings``."""

    def __init__(
        self,
        root: Path,
        address: tuple[str, int],
        *,
        clock: Callable[[], float] = time.time,
        settings: ServeSettings | None = None,
        search: Callable[[str], str] | None = None,
        front_page: Callable[[bytes], bytes] | None = None,
        unsubscriber: unsubscribe_http.Unsubscriber | None = None,
    ) -> None:
        self.root = root.resolve()
        #: The search page for a query string (``q=...&category=...``), if served.
        self.search = search
        #: The front page (the root's index.html) as served: with the search box.
        self.front_page = front_page if search is not None else None
        #: Answers /unsubscribe when given (the config has an [email] table).
        self.unsubscriber = unsubscriber
        self.cache = FileCache()
        self.clock = clock
        super().__init__(address, Handler, settings or ServeSettings())

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"
