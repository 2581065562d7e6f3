"""``aggregator serve`` against clients that say nothing, drip, stop reading or vanish.

Real sockets on 127.0.0.1 against the real server (in this process, or the CLI in a
subprocess with a descriptor limit of 128).
"""

from __future__ import annotations

import http.client
import logging
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA, ROOT

from aggregator._app.cli import main
from aggregator._app.serve import FeedServer
from aggregator.config.serve import ServeSettings
from aggregator.config.settings import load_config
from aggregator.errors import ConfigError

pytestmark = pytest.mark.slow  # real processes, kills or timeouts: `-m "not slow"` skips

#: What a slowloris client sends, and never finishes (tests/data/hostile/).
HALF_REQUEST = (DATA / "hostile" / "serve-half-request.http").read_bytes()
BIG_BYTES = 32 * 1024 * 1024  # more than loopback's socket buffers hold


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    (folder / "index.html").write_text("<!DOCTYPE html><title>t</title><p>hello</p>\n")
    # Random bytes: not compressible, so gzip does not make it small.
    (folder / "big.bin").write_bytes(os.urandom(BIG_BYTES))
    return folder


@contextmanager
def running(site: Path, **limits: float) -> Iterator[FeedServer]:
    server = FeedServer(site, ("127.0.0.1", 0), settings=ServeSettings(**limits))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def port_of(server: FeedServer) -> int:
    return int(server.server_address[1])


def get(port: int, path: str = "/", timeout: float = 5) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def closed_by_server(sock: socket.socket, within: float) -> float | None:
    """Seconds until the server closed ``sock`` (end of file or reset); None if it did not."""
    start = time.monotonic()
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - start


def wait_until(condition: Callable[[], bool], timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def half_sent(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(HALF_REQUEST)
    return sock


def test_half_sent_connections_cannot_starve_a_client_at_128_descriptors(site: Path) -> None:
    """Issue 12 item 5: 129+ idle half-sent requests, descriptor limit 128."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = (
        "import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128));"
        " from aggregator._app.cli import main; main()"
    )
    # No [serve] table: the defaults (header_timeout 10 s) must do.
    (site.parent / "aggregator.toml").write_text(f'[publish]\noutput_dir = "{site.name}"\n')
    with (
        subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--port", str(port)],
            cwd=site.parent,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stderr=subprocess.PIPE,
            text=True,
        ) as process,
        ExitStack() as idle,
    ):
        assert process.stderr is not None
        try:
            started = ""
            while "Serving" not in started and process.poll() is None:
                started += process.stderr.readline()
            assert f"at http://127.0.0.1:{port}/" in started
            # 200 connections that send half a request and then nothing, paced so that
            # the server can accept each. Connected without blocking: a server that has
            # stopped accepting leaves the last ones unanswered.
            sockets = []
            for _ in range(200):
                sock = idle.enter_context(socket.socket())
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", port))
                sockets.append(sock)
                time.sleep(0.005)
            connected = []
            deadline = time.monotonic() + 3
            while sockets and time.monotonic() < deadline:
                _, ready, _ = select.select([], sockets, [], 0.1)
                for sock in ready:
                    sockets.remove(sock)
                    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                        sock.send(HALF_REQUEST)
                        connected.append(sock)
            assert len(connected) > 128
            time.sleep(0.5)
            start = time.monotonic()
            status, body = get(port, timeout=5)
            assert status == 200 and b"hello" in body
            assert time.monotonic() - start < 3
            assert get(port)[0] == 200
        finally:
            process.send_signal(signal.SIGTERM)
            rest = process.stderr.read()
            assert process.wait(timeout=30) == 0
    assert "serving at most 56 connections at once, not 64" in started
    assert "all 56 connections in use: closing those that waited longest" in rest
    assert "Traceback" not in rest


def test_the_configured_cap_holds_and_the_longest_waiting_makes_room(site: Path) -> None:
    with running(site, max_connections=3, header_timeout=60) as server, ExitStack() as stack:
        port = port_of(server)
        waiting = []
        for _ in range(3):
            waiting.append(stack.enter_context(half_sent(port)))
            assert wait_until(lambda: server.open_connections == len(waiting))
        status, _ = get(port)
        assert status == 200
        # The oldest was closed for room; the two others still wait.
        assert closed_by_server(waiting[0], within=2) is not None
        assert closed_by_server(waiting[1], within=0.3) is None
        assert closed_by_server(waiting[2], within=0.3) is None
        assert server.open_connections <= 3


def test_a_connection_receiving_a_response_is_not_closed_for_room(site: Path) -> None:
    with running(site, max_connections=2, header_timeout=60) as server, ExitStack() as stack:
        port = port_of(server)
        # A reader that takes its time: the server is blocked sending it big.bin.
        reader = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
        reader.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n")
        head = reader.recv(4096)
        assert head.startswith(b"HTTP/1.1 200")
        dripping = stack.enter_context(half_sent(port))
        assert wait_until(lambda: server.open_connections == 2)
        assert get(port)[0] == 200
        assert closed_by_server(dripping, within=2) is not None
        # The slow reader still gets every byte.
        received = len(head.partition(b"\r\n\r\n")[2])
        while received < BIG_BYTES:
            chunk = reader.recv(1 << 20)
            assert chunk, f"closed after {received} of {BIG_BYTES} bytes"
            received += len(chunk)
        assert received == BIG_BYTES


def test_a_request_head_must_arrive_within_header_timeout(site: Path) -> None:
    with running(site, header_timeout=0.5) as server, ExitStack() as stack:
        port = port_of(server)
        silent = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        half = stack.enter_context(half_sent(port))
        silent_after = closed_by_server(silent, within=5)
        half_after = closed_by_server(half, within=5)
        assert silent_after is not None and half_after is not None
        # One byte every 0.1 s: each read is quick, the head as a whole is not.
        dripping = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        start = time.monotonic()
        sent = 0
        request = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 200 + b"\r\n\r\n"
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            for byte in request:
                dripping.sendall(bytes([byte]))
                sent += 1
                time.sleep(0.1)
        assert time.monotonic() - start < 5
        assert sent < len(request)
        assert wait_until(lambda: server.open_connections == 0)


def test_an_idle_keep_alive_connection_is_closed_after_idle_timeout(site: Path) -> None:
    with running(site, idle_timeout=0.5, header_timeout=10) as server:
        connection = http.client.HTTPConnection("127.0.0.1", port_of(server), timeout=5)
        try:
            connection.request("GET", "/")
            first = connection.getresponse()
            assert first.read() and first.getheader("Keep-Alive") == "timeout=1"
            sock = connection.sock
            # Within the idle time the connection serves another request.
            connection.request("GET", "/index.html")
            second = connection.getresponse()
            assert second.status == 200 and second.read()
            assert connection.sock is sock
            after = closed_by_server(sock, within=5)
            assert after is not None and after >= 0.3
        finally:
            connection.close()
        assert wait_until(lambda: server.open_connections == 0)


def test_a_client_that_stops_reading_is_dropped_after_write_timeout(site: Path) -> None:
    with (
        running(site, write_timeout=0.5) as server,
        socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock,
    ):
        sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n")
        assert wait_until(lambda: server.open_connections == 1)
        # Read nothing: the server's send stalls once the buffers are full.
        assert wait_until(lambda: server.open_connections == 0, timeout=10)
        received = 0
        try:
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            pass
        assert 0 < received < BIG_BYTES


def test_a_client_that_disconnects_mid_response_logs_no_traceback(
    site: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aggregator")
    with running(site) as server:
        port = port_of(server)
        for _ in range(4):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(
                    b"GET /big.bin HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n"
                )
                assert sock.recv(65536).startswith(b"HTTP/1.1 200")
                # Close with a reset (linger 0) while the server is still sending.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # The server carries on.
        assert wait_until(lambda: server.open_connections == 0)
        assert get(port)[0] == 200
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "Exception occurred" not in captured.err
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    disconnects = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(disconnects) == 4
    assert all(r.levelno == logging.DEBUG for r in disconnects)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("max_connections = 0", r"serve\.max_connections: must be at least 1"),
        ("header_timeout = 0", r"serve\.header_timeout: must be more than 0 seconds"),
        ("idle_timeout = -1", r"serve\.idle_timeout: must be more than 0 seconds"),
        ('write_timeout = "30"', r"serve\.write_timeout: expected int or float, got str"),
        ("max_connections = 1.5", r"serve\.max_connections: expected int, got float"),
        ("timeout = 5", r"serve\.timeout: unknown key"),
    ],
)
def test_bad_serve_settings_name_the_key_and_the_file(
    tmp_path: Path, table: str, message: str
) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(f"[serve]\n{table}\n")
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_options_win_over_the_serve_table(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "aggregator.toml").write_text(
        f'[publish]\noutput_dir = "{site}"\n'
        "[serve]\nmax_connections = 7\nheader_timeout = 3\nidle_timeout = 4\nwrite_timeout = 5\n"
    )
    monkeypatch.chdir(tmp_path)
    used: list[ServeSettings] = []
    monkeypatch.setattr(
        FeedServer, "serve_forever", lambda self, poll_interval=0.5: used.append(self.settings)
    )
    assert CliRunner().invoke(main, ["serve", "--port", "0"]).exit_code == 0
    result = CliRunner().invoke(
        main, ["serve", "--port", "0", "--max-connections", "9", "--idle-timeout", "0.5"]
    )
    assert result.exit_code == 0, result.output
    assert used == [
        ServeSettings(max_connections=7, header_timeout=3, idle_timeout=4, write_timeout=5),
        ServeSettings(max_connections=9, header_timeout=3, idle_timeout=0.5, write_timeout=5),
    ]
