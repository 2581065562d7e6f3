"""A chat-completions server on 127.0.0.1, written for the tests and the summaries
benchmark (never a real model): it speaks the OpenAI wire format
(``POST /v1/chat/completions``, the reply shape Ollama, vLLM and llama.cpp's servers
give) and plays a script: well-formed summaries by default, or malformed replies,
slow ones, 429 with ``Retry-After``, 5xx, refused keys."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    """One response: status, headers, a JSON body (or raw bytes), after ``delay`` s."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    body: dict[str, Any]
    headers: dict[str, str]


def completion(content: str, *, model: str = "llama3.1", finish: str = "stop") -> dict[str, Any]:
    """A chat.completion object as the servers send it, with usage counted."""
    return {
        "id": "chatcmpl-" + format(abs(hash(content)) % 10**12, "x"),
        "object": "chat.completion",
        "created": 1764892800,
        "model": model,
        "system_fingerprint": "fp_ollama",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 412, "completion_tokens": 96, "total_tokens": 508},
    }


_TITLE_RE = re.compile(r"^Title: (.*)$", re.MULTILINE)


def summary_of(body: dict[str, Any]) -> dict[str, str]:
    """What the pretend model writes: fields derived from the title it was given, and
    a "translation" when the system prompt asks for one (CJK for zh)."""
    user = body["messages"][-1]["content"]
    system = body["messages"][0]["content"]
    title = _TITLE_RE.search(user).group(1)  # type: ignore[union-attr]
    reply = {
        "tldr": f"TLDR of {title}.",
        "background": f"Why {title} matters.",
        "innovation": f"What {title} does.",
        "conclusion": f"What {title} found.",
    }
    if '"title"' in system:
        reply["title"] = f"关于{title}的研究"
    return reply


def summarise(body: dict[str, Any]) -> Answer:
    return Answer(body=completion(json.dumps(summary_of(body), ensure_ascii=False)))


Script = Callable[[dict[str, Any], int], Answer]


class ChatServer:
    """The server's state: what it was asked, and the script (request, call number)."""

    def __init__(self, script: Script | None = None) -> None:
        self.script: Script = script or (lambda body, n: summarise(body))
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.url = ""

    @property
    def calls(self) -> int:
        return len(self.seen)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


@contextmanager
def chat_server(script: Script | None = None) -> Iterator[ChatServer]:
    """Serve the script; ``state.url`` is the API root (``http://127.0.0.1:PORT/v1``)."""
    state = ChatServer(script)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            with state.lock:
                state.seen.append(Seen(body, {k.lower(): v for k, v in self.headers.items()}))
                number = len(state.seen)
            if self.path != "/v1/chat/completions":
                answer = Answer(404, {"error": {"message": f"no route {self.path}"}})
            else:
                answer = state.script(body, number)
            if answer.delay:
                time.sleep(answer.delay)
            payload = (
                answer.body
                if isinstance(answer.body, bytes)
                else json.dumps(answer.body, ensure_ascii=False).encode()
            )
            with suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
