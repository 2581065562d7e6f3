"""A threaded HTTP/1.1 server whose connections are bounded in time and number.

Owns the life of connections for ``aggregator serve`` (``serve.py`` decides what to
answer): the standard library's ``http.server`` with

- a deadline for each request's line and headers (``header_timeout``, counted from the
  connection, or from the first byte of a kept-alive connection's next request), so a
  client dripping a byte now and then is dropped like one that sends nothing;
- ``idle_timeout`` for a kept-alive connection between requests;
- ``write_timeout`` for each 64 KiB piece of a response (a slow reader is served, one
  that stopped reading is let go);
- at most ``max_connections`` open connections (lowered to fit the descriptor limit),
  more waiting in the kernel's listen queue, and when all are taken the one that has
  waited longest for a request is closed to make room (see ``BoundedServer``);
- a client that goes away mid-request (broken pipe, reset) costs a debug line, never a
  traceback; other errors are logged once with their traceback (they are bugs).

Never reads a request body (a request with one is answered, then its connection
closed), never decides a response's content.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from ..config.serve import ServeSettings

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

log = logging.getLogger(__name__)

#: A response goes out in pieces of this size; each must be taken by the client within
#: ``write_timeout``, so a slow reader is fine and a stalled one is let go.
WRITE_CHUNK_BYTES = 64 * 1024

#: Descriptors kept aside for the listening socket, standard streams, logging and the
#: like; each connection may use two (its socket and the file it sends).
RESERVED_DESCRIPTORS = 16

#: Connections waiting for a free place wait in the kernel's listen queue (the
#: standard library's default of 5 would make further clients retry their SYN).
LISTEN_BACKLOG = 128

#: Seconds the accepting thread waits for a free place before it looks again (and at a
#: shutdown request).
SLOT_WAIT = 0.25

#: Longest pause after the process ran out of descriptors, doubling from 5 ms (as Go's
#: net/http does), so the accept loop does not spin.
ACCEPT_BACKOFF_MAX = 1.0

#: Seconds between two warnings of the same kind (a full server, no descriptors).
WARN_EVERY = 60.0


def connection_cap(wanted: int) -> int:
    """``wanted``, lowered so that the process never runs out of descriptors.

    A server out of descriptors cannot accept anyone, however short its timeouts.
    """
    try:
        import resource  # POSIX only; Windows sockets are not counted against a limit
    except ImportError:  # pragma: no cover - Windows
        return wanted
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, (soft - RESERVED_DESCRIPTORS) // 2))


class Connection:
    """One open connection as the server tracks it (guarded by ``BoundedServer.slots``).

    ``waiting_since`` is when it began waiting for a request (None while a request is
    answered); ``idle`` means no byte of that request has arrived yet; ``evicted`` that
    the server closed it to make room.
    """

    def __init__(self, sock: socket.socket, *, now: float, header_timeout: float) -> None:
        self.sock = sock
        self.deadline = now + header_timeout
        self.waiting_since: float | None = now
        self.idle = False
        self.evicted = False


class HeadReader(io.RawIOBase):
    """A connection's incoming bytes, every read bounded by the connection's deadline.

    A socket timeout bounds one read only, so a client sending a byte every few seconds
    would never time out; the deadline bounds the whole request head. The first byte of
    a kept-alive connection's next request replaces the idle deadline by a header one.
    """

    def __init__(self, sock: socket.socket, state: Connection, settings: ServeSettings) -> None:
        super().__init__()
        self._sock = sock
        self._state = state
        self._settings = settings

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        remaining = self._state.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete request in time")
        self._sock.settimeout(remaining)
        try:
            count = self._sock.recv_into(buffer)
        finally:
            # What the handler does next is write, bounded per piece (ResponseWriter).
            self._sock.settimeout(self._settings.write_timeout)
        if count and self._state.idle:
            self._state.idle = False
            self._state.deadline = time.monotonic() + self._settings.header_timeout
        return count


class ResponseWriter(io.BufferedIOBase):
    """Sends in pieces, each bounded by the socket's timeout (``write_timeout``).

    ``sendall`` with a timeout bounds the whole call (Python 3.5+), which would cut a
    large file to a slow but steady reader; per piece it bounds a stall instead.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        view = memoryview(data).cast("B")
        for start in range(0, len(view), WRITE_CHUNK_BYTES):
            self._sock.sendall(view[start : start + WRITE_CHUNK_BYTES])
        return len(view)


class BoundedHandler(BaseHTTPRequestHandler):
    """``BaseHTTPRequestHandler`` reading through ``HeadReader``, quiet on disconnects."""

    server: BoundedServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.connection = self.request
        self.state = self.server.state_of(self.request)
        settings = self.server.settings
        self.request.settimeout(settings.write_timeout)
        # Headers and body go out in two writes; with Nagle's algorithm and the client's
        # delayed ACK a small body waits ~40 ms on a keep-alive connection.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        self.rfile = io.BufferedReader(HeadReader(self.request, self.state, settings))
        self.wfile = ResponseWriter(self.request)

    def handle_one_request(self) -> None:
        try:
            self._one_request()
        except TimeoutError:
            self.close_connection = True
            if self.state.waiting_since is None:
                why = f"the response made no progress for {self.server.settings.write_timeout:g} s"
            elif self.state.idle:
                why = "idle"
            else:
                why = f"no complete request within {self.server.settings.header_timeout:g} s"
            log.debug("%s: closed: %s", self.address_string(), why)
        except ConnectionError as err:
            # The client went away (BrokenPipeError, ConnectionResetError, ...): normal.
            self.close_connection = True
            log.debug("%s: client disconnected: %s", self.address_string(), err)

    def _one_request(self) -> None:
        # BaseHTTPRequestHandler.handle_one_request, with the connection's states.
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or self.state.evicted:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return
        if not self.parse_request():
            return
        if self.headers.get("Content-Length", "0").strip() != "0" or self.headers.get(
            "Transfer-Encoding"
        ):
            # A body is never read, so it must not be taken for the next request.
            self.close_connection = True
        if not self.server.begin_answer(self.state):
            self.close_connection = True
            return
        method = getattr(self, f"do_{self.command}", None)
        if method is None:
            self.close_connection = True
            self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({self.command!r})")
        else:
            method()
        self.wfile.flush()
        if not self.close_connection:
            self.server.await_request(self.state)

    #: True while BaseHTTPRequestHandler.send_error answers (it says "Connection: close").
    _in_send_error = False

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.close_connection = True
        self._in_send_error = True
        try:
            super().send_error(code, message, explain)
        finally:
            self._in_send_error = False

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        if self.close_connection:
            if not self._in_send_error:
                self.send_header("Connection", "close")
        else:
            # When an unused connection will be closed, so that clients do not send a
            # request into a connection being closed.
            idle = max(1, int(self.server.settings.idle_timeout))
            self.send_header("Keep-Alive", f"timeout={idle}")


class NoSlot(OSError):
    """No connection accepted this time (socketserver skips an OSError from accepting)."""


class BoundedServer(ThreadingHTTPServer):
    """A thread per connection, at most ``max_connections`` of them.

    More connections wait in the kernel's listen queue, costing this process nothing,
    as with nginx's worker_connections, Apache's MaxRequestWorkers or Go's
    LimitListener. (Answering them 503 at once would cost a descriptor and a write
    each, and turn a normal client away while idle ones keep their places.) When all
    places are taken and a client is queued, the connection that has waited longest for
    a request (an idle keep-alive, or one still dripping its headers) is closed to make
    room, as nginx reuses idle connections when it runs out: so connections that say
    nothing, however many, cannot shut out a client that sends its request. A
    connection answering a request is never closed for room; ``write_timeout`` bounds it.
    """

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BoundedHandler],
        settings: ServeSettings,
    ) -> None:
        self.settings = settings
        self.max_connections = connection_cap(settings.max_connections)
        #: Guards the open connections and their states; notified when one closes.
        self.slots = threading.Condition()
        self._open: dict[socket.socket, Connection] = {}
        self._backoff = 0.0
        self._warned: dict[str, float] = {}
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)
        # A queued client may give up between select() and accept(): never block there.
        self.socket.setblocking(False)

    @property
    def open_connections(self) -> int:
        with self.slots:
            return len(self._open)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept one connection if a place is free (or can be freed); NoSlot otherwise."""
        with self.slots:
            if len(self._open) >= self.max_connections:
                self._make_room()
                if not self.slots.wait_for(self._has_room, timeout=SLOT_WAIT):
                    raise NoSlot("every connection is in use")
        try:
            sock, address = self.socket.accept()
        except OSError as err:
            if err.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                self._pause_accepting(err)
            raise
        self._backoff = 0.0
        with self.slots:
            self._open[sock] = Connection(
                sock, now=time.monotonic(), header_timeout=self.settings.header_timeout
            )
        return sock, address

    def _has_room(self) -> bool:
        return len(self._open) < self.max_connections

    def _make_room(self) -> None:
        """Close the connection that has waited longest for a request (``slots`` held)."""
        waiting = [c for c in self._open.values() if c.waiting_since is not None and not c.evicted]
        if not waiting:
            return
        victim = min(waiting, key=lambda c: c.waiting_since or 0.0)
        victim.evicted = True
        # Its thread's read returns end-of-file; the thread then closes the socket.
        with contextlib.suppress(OSError):
            victim.sock.shutdown(socket.SHUT_RDWR)
        self._warn(
            "full",
            f"all {self.max_connections} connections in use: closing those that waited"
            " longest for a request (raise [serve] max_connections if this is normal load)",
        )

    def _pause_accepting(self, err: OSError) -> None:
        self._warn("descriptors", f"cannot accept connections: {err.strerror}; waiting")
        self._backoff = min(ACCEPT_BACKOFF_MAX, max(0.005, self._backoff * 2))
        with self.slots:
            # A connection that ends frees a descriptor: look again at once then.
            self.slots.wait(timeout=self._backoff)

    def _warn(self, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - self._warned.get(kind, -WARN_EVERY) >= WARN_EVERY:
            self._warned[kind] = now
            log.warning("%s", message)

    def state_of(self, request: socket.socket) -> Connection:
        with self.slots:
            return self._open[request]

    def begin_answer(self, state: Connection) -> bool:
        """A whole request head arrived: not to be closed for room any more.

        False when it was closed for room meanwhile.
        """
        with self.slots:
            if state.evicted:
                return False
            state.waiting_since = None
            return True

    def await_request(self, state: Connection) -> None:
        """The response is sent and the connection kept alive: wait for the next one."""
        with self.slots:
            now = time.monotonic()
            state.waiting_since = now
            state.idle = True
            state.deadline = now + self.settings.idle_timeout

    def shutdown_request(self, request: Any) -> None:
        with self.slots:
            # Closed under the lock, so _make_room never shuts a socket closed meanwhile.
            super().shutdown_request(request)
            self._open.pop(request, None)
            self.slots.notify_all()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection's thread failed outside a request: a client gone, or a bug."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("%s: connection ended: %s", client_address, error)
            return
        log.exception("error while serving %s", client_address)

    def server_close(self) -> None:
        with self.slots:
            for state in self._open.values():
                with contextlib.suppress(OSError):
                    state.sock.shutdown(socket.SHUT_RDWR)
        super().server_close()
