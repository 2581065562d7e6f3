"""``aggregator serve`` over real HTTP: feedparser polling with 304s, gzip, refusals."""

from __future__ import annotations

import gzip
import http.client
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path

import feedparser
import httpx
import pytest
from atomcheck import validate_atom
from browser import chromium, needs_chromium
from click.testing import CliRunner
from conftest import ROOT

from aggregator._app import serve
from aggregator._app.cli import main
from aggregator._app.serve import FeedServer, accepts_gzip, etag_matches, is_loopback
from aggregator.config.settings import load_config
from aggregator.core import run

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


class Clock:
    """The server's clock, settable by the test (seconds since the epoch)."""

    def __init__(self) -> None:
        # A little after the files were written (their mtimes are real).
        self.now = time.time() + 10

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample sources, published once for this module."""
    folder = tmp_path_factory.mktemp("built")
    settings = load_config(None, cwd=folder)
    run(settings, clock=lambda: NOW)
    return settings.publish.output_dir


@pytest.fixture
def site(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the published folder, with a secret file beside it."""
    shutil.copytree(built, tmp_path / "public")
    (tmp_path / "secret.txt").write_text("outside the output folder")
    return tmp_path / "public"


@pytest.fixture
def server_clock() -> Clock:
    return Clock()


@pytest.fixture
def server(site: Path, server_clock: Clock) -> Iterator[FeedServer]:
    server = FeedServer(site, ("127.0.0.1", 0), clock=server_clock)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def raw_get(
    server: FeedServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A request with the path sent exactly as given (no client-side normalising)."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), int(port), timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_feedparser_gets_the_feed_then_a_304_with_its_etag(server: FeedServer) -> None:
    url = server.url + "feeds/all.atom"
    first = feedparser.parse(url)
    assert first.status == 200
    assert not first.bozo, first.get("bozo_exception")
    assert len(first.entries) == 42
    assert first.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert first.etag
    second = feedparser.parse(url, etag=first.etag)
    assert second.status == 304
    assert second.entries == []
    third = feedparser.parse(url, modified=first.modified)
    assert third.status == 304


def test_the_served_feed_is_the_published_file_and_valid_atom(
    server: FeedServer, site: Path
) -> None:
    response = httpx.get(server.url + "feeds/cs.AI.atom", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.content == (site / "feeds" / "cs.AI.atom").read_bytes()
    validate_atom(response.content)


def test_republishing_within_the_same_second_changes_the_etag(
    server: FeedServer, site: Path, server_clock: Clock
) -> None:
    feed = site / "feeds" / "all.atom"
    stamp = os.stat(feed).st_mtime
    first = httpx.get(server.url + "feeds/all.atom")
    # A new version of the same size, with the very same mtime.
    data = feed.read_bytes()
    feed.write_bytes(data.replace(b"<title>", b"<title>X", 1)[: len(data)])
    os.utime(feed, (stamp, stamp))
    second = httpx.get(
        server.url + "feeds/all.atom", headers={"If-None-Match": first.headers["etag"]}
    )
    assert second.status_code == 200
    assert second.headers["etag"] != first.headers["etag"]
    assert second.content.startswith(feed.read_bytes()[:100])


def test_last_modified_is_withheld_until_its_second_is_over(
    server: FeedServer, site: Path, server_clock: Clock
) -> None:
    page = site / "index.html"
    server_clock.now = float(int(server_clock.now)) + 0.5
    os.utime(page, (server_clock.now - 0.2, server_clock.now - 0.2))
    fresh = httpx.get(server.url)
    assert fresh.status_code == 200
    assert "last-modified" not in fresh.headers
    # An If-Modified-Since for that second cannot produce a 304 either.
    since = formatdate(int(server_clock.now), usegmt=True)
    assert httpx.get(server.url, headers={"If-Modified-Since": since}).status_code == 200
    server_clock.now += 1
    later = httpx.get(server.url)
    assert later.headers["last-modified"] == since
    not_modified = httpx.get(server.url, headers={"If-Modified-Since": since})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == later.headers["etag"]


def test_if_modified_since_before_the_change_gets_the_file(server: FeedServer) -> None:
    since = formatdate(NOW.timestamp() - 86400 * 400, usegmt=True)
    response = httpx.get(server.url + "feeds/all.atom", headers={"If-Modified-Since": since})
    assert response.status_code == 200


def test_gzip_when_accepted_with_its_own_etag(server: FeedServer, site: Path) -> None:
    plain_status, plain, body = raw_get(server, "/feeds/all.atom")
    status, headers, zipped = raw_get(server, "/feeds/all.atom", {"Accept-Encoding": "gzip"})
    assert plain_status == status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Vary"] == plain["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in plain
    assert gzip.decompress(zipped) == body == (site / "feeds" / "all.atom").read_bytes()
    assert len(zipped) < len(body) / 2
    assert headers["ETag"] != plain["ETag"]
    # Each variant revalidates against its own tag.
    assert (
        raw_get(
            server, "/feeds/all.atom", {"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]}
        )[0]
        == 304
    )
    assert raw_get(server, "/feeds/all.atom", {"If-None-Match": headers["ETag"]})[0] == 200


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/digests/2026-01-14/", "text/html; charset=utf-8"),
        ("/digests/2026-01-14/digest.txt", "text/plain; charset=utf-8"),
        ("/feeds/cs.LG.atom", "application/atom+xml; charset=utf-8"),
    ],
)
def test_content_types_carry_a_charset(server: FeedServer, path: str, content_type: str) -> None:
    status, headers, body = raw_get(server, path)
    assert status == 200
    assert headers["Content-Type"] == content_type
    assert int(headers["Content-Length"]) == len(body) > 0


def test_a_folder_without_slash_is_redirected(server: FeedServer) -> None:
    status, headers, _ = raw_get(server, "/digests/2026-01-14")
    assert status == 301
    assert headers["Location"] == "/digests/2026-01-14/"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/../secret.txt", 403),
        ("/feeds/../../secret.txt", 403),
        ("/%2e%2e/secret.txt", 403),
        ("/%2E%2E%2Fsecret.txt", 403),
        ("/feeds/%2e%2e/%2e%2e/secret.txt", 403),
        ("/..%5csecret.txt", 403),
        ("/feeds/%00.atom", 403),
        ("/escape/secret.txt", 403),
        ("/escape-file", 403),
        ("/nope.atom", 404),
        ("/feeds/", 404),
        ("/.hidden.tmp", 404),
    ],
)
def test_paths_outside_the_folder_are_refused(
    server: FeedServer, site: Path, path: str, status: int
) -> None:
    (site / "escape").symlink_to(site.parent)
    (site / "escape-file").symlink_to(site.parent / "secret.txt")
    (site / ".hidden.tmp").write_text("half a file")
    got, _, body = raw_get(server, path)
    assert got == status
    assert b"outside the output folder" not in body


def test_a_symlink_inside_the_folder_is_served(server: FeedServer, site: Path) -> None:
    (site / "latest.atom").symlink_to(site / "feeds" / "all.atom")
    status, headers, _ = raw_get(server, "/latest.atom")
    assert status == 200
    assert headers["Content-Type"].startswith("application/atom+xml")


def test_head_and_other_methods(server: FeedServer) -> None:
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), int(port), timeout=10)
    try:
        connection.request("HEAD", "/feeds/all.atom")
        head = connection.getresponse()
        assert head.status == 200 and head.read() == b""
        assert int(head.getheader("Content-Length") or 0) > 1000
        connection.request("POST", "/feeds/all.atom", body=b"x")
        post = connection.getresponse()
        post.read()
        assert post.status == 405 and post.getheader("Allow") == "GET, HEAD"
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("gzip;q=0", False),
        ("*", True),
        ("identity", False),
        ("", False),
    ],
)
def test_accept_encoding(header: str, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


def test_etag_matching_is_weak_and_takes_lists() -> None:
    assert etag_matches('"a", W/"b"', '"b"')
    assert etag_matches("*", '"x"')
    assert not etag_matches('"a"', '"b"')


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.2", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_command_serves_and_stops_on_sigterm(site: Path) -> None:
    port = free_port()
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from aggregator._app.cli import main; main()",
            "serve",
            "--port",
            str(port),
        ],
        cwd=site.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert f"at http://127.0.0.1:{port}/" in first
        parsed = feedparser.parse(f"http://127.0.0.1:{port}/feeds/all.atom")
        assert parsed.status == 200 and len(parsed.entries) == 42
        assert (
            feedparser.parse(f"http://127.0.0.1:{port}/feeds/all.atom", etag=parsed.etag).status
            == 304
        )
        process.send_signal(signal.SIGTERM)
        rest = process.stderr.read()
        assert process.wait(timeout=30) == 0
    assert '"GET /feeds/all.atom HTTP/1.1" 304' in rest
    assert "Stopped." in rest


def test_serving_to_the_network_warns(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(site.parent)
    monkeypatch.setattr(FeedServer, "serve_forever", lambda self, poll_interval=0.5: None)
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert "warning: listening on 0.0.0.0, not loopback" in result.output


def test_serve_without_output_folder_says_to_run_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 3
    assert "nothing to serve yet" in result.output and "aggregator run" in result.output


def test_serve_on_a_busy_port_says_so(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(site.parent)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port)])
    assert result.exit_code == 3
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


#: The headers every response carries, whatever its status (issue 12 item 5).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def exchange(server: FeedServer, request: bytes) -> http.client.HTTPResponse:
    """Send ``request`` as raw bytes; the response, read."""
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=10) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock, method=request.split(b" ")[0].decode())
        response.begin()
        response.read()
        return response


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"GET / HTTP/1.1", 200),
        (b"HEAD /feeds/all.atom HTTP/1.1", 200),
        (b"GET /digests/2026-01-14/digest.txt HTTP/1.1", 200),
        (b"GET /digests/2026-01-14 HTTP/1.1", 301),
        (b"GET /../secret.txt HTTP/1.1", 403),
        (b"GET /nope.html HTTP/1.1", 404),
        (b"POST / HTTP/1.1", 405),
        (b"BREW / HTTP/1.1", 501),
        (b"GET /a b HTTP/1.1", 400),
    ],
)
def test_every_response_carries_the_security_headers(
    server: FeedServer, request_line: bytes, status: int
) -> None:
    response = exchange(server, request_line + b"\r\nHost: x\r\n\r\n")
    assert response.status == status
    for name, value in SECURITY_HEADERS.items():
        assert response.getheader(name) == value, name


def test_a_304_carries_the_security_headers(server: FeedServer) -> None:
    etag = exchange(server, b"GET /feeds/all.atom HTTP/1.1\r\nHost: x\r\n\r\n").getheader("ETag")
    assert etag
    response = exchange(
        server,
        b"GET /feeds/all.atom HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag.encode() + b"\r\n\r\n",
    )
    assert response.status == 304
    for name, value in SECURITY_HEADERS.items():
        assert response.getheader(name) == value, name


@pytest.mark.parametrize("method", [b"POST", b"GET"])
def test_a_request_body_is_never_taken_for_a_request(server: FeedServer, method: bytes) -> None:
    # The body is not read: the connection is closed after the answer.
    smuggled = b"GET /../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    head = b"%s / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (method, len(smuggled))
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=10) as sock:
        sock.sendall(head + smuggled)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 405" if method == b"POST" else b"HTTP/1.1 200")
    assert received.count(b"HTTP/1.1 ") == 1
    assert b"Connection: close" in received


def browse(url: str, scratch: Path) -> tuple[list[str], Path]:
    """Open ``url`` in headless Chromium: its console messages and a screenshot."""
    shot = scratch / "shot.png"
    done = subprocess.run(
        chromium(
            scratch / "profile",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=800,600",
            f"--screenshot={shot}",
            url,
        ),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert shot.is_file(), f"Chromium took no screenshot: {done.stderr[-2000:]}"
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line], shot


def png_rows(data: bytes, rows: int) -> tuple[int, list[bytes]]:
    """Channels per pixel and the first ``rows`` rows of an 8-bit RGB(A) PNG, unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, compressed = 8, b""
    header = b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed += body
    width, _height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), (depth, color)
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(compressed)
    stride = width * channels
    previous = bytearray(stride)
    out = []
    for y in range(rows):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(bytes(line))
        previous = line
    return channels, out


def pixel(shot: Path, x: int, y: int) -> tuple[int, ...]:
    channels, rows = png_rows(shot.read_bytes(), y + 1)
    return tuple(rows[y][x * channels : x * channels + 3])


#: templates/digest.html: the dark header band and the grey page around the 680 px column.
HEADER_BAND = (0x24, 0x29, 0x2F)
PAGE_GREY = (0xF4, 0xF5, 0xF7)


@pytest.mark.slow
@needs_chromium
def test_the_published_pages_render_under_the_policy(server: FeedServer, tmp_path: Path) -> None:
    for path in ("", "digests/2026-01-14/digest.txt", "feeds/all.atom"):
        console, _ = browse(server.url + path, tmp_path / path.replace("/", "-"))
        assert not [line for line in console if "Content Security Policy" in line], path
    console, shot = browse(server.url + "digests/2026-01-14/", tmp_path / "digest")
    assert not [line for line in console if "Content Security Policy" in line]
    # The digest's styles apply: the header band is dark, the page around it grey.
    assert pixel(shot, 700, 10) == HEADER_BAND
    assert pixel(shot, 770, 50) == PAGE_GREY


@pytest.mark.slow
@needs_chromium
def test_the_render_check_sees_a_policy_that_blocks_the_styles(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: with no inline styles allowed Chromium reports it."""
    monkeypatch.setitem(serve.SECURITY_HEADERS, "Content-Security-Policy", "default-src 'none'")
    console, shot = browse(server.url + "digests/2026-01-14/", tmp_path)
    assert [line for line in console if "Content Security Policy" in line]
    assert pixel(shot, 700, 10) != HEADER_BAND
    assert pixel(shot, 770, 50) != PAGE_GREY
