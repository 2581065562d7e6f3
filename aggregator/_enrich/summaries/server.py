"""One summary from an OpenAI-compatible chat-completions server (Ollama, vLLM,
llama.cpp, a hosted API): the request, the reply checked field by field, and what a
failure means for the rest of the run.

Owns the prompt (versioned: a new version is a new cache key) and the wire format.
Decides nothing about retries or budgets (``enricher`` does); every failure is a
:class:`ServerProblem` saying whether asking again can help.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ...config.summaries import SummariesSettings
from ...errors import SummaryError
from ...types import Summary

#: Bumped whenever the prompt or the schema below changes: summaries cached under an
#: older version are not shown for the new one (each is asked for again).
PROMPT_VERSION = 1
#: The abstract (or content) is cut here: a summary needs no more, and a long page
#: would spend the token budget on one entry.
MAX_INPUT_CHARS = 6000
FIELDS = ("tldr", "background", "innovation", "conclusion")

_SYSTEM = (
    "You summarise research papers and articles for a daily digest read by busy "
    "researchers. Use only what the given text says; never invent results. Reply with "
    "one JSON object and nothing else, with these string fields: "
    '"tldr" (one sentence, at most 30 words, the main contribution), '
    '"background" (one or two sentences: the problem and why it matters), '
    '"innovation" (one or two sentences: what is new in this work), '
    '"conclusion" (one or two sentences: what it found or showed).'
)


#: Every failure to get a summary (see its ``kind``).
ServerProblem = SummaryError


@dataclass(frozen=True)
class Reply:
    summary: Summary
    #: Prompt and reply tokens, as the server counted them (estimated when it did not).
    tokens: int


def system_prompt(language: str) -> str:
    if not language:
        return _SYSTEM
    return (
        f'{_SYSTEM} Also give "title": the paper\'s title translated into the language '
        f"with the BCP 47 tag {language!r}. Write the four summary fields in that "
        "language too."
    )


def schema(language: str) -> dict[str, Any]:
    """The JSON Schema of the reply (for ``response_format = "json_schema"``)."""
    names = [*FIELDS, *(["title"] if language else [])]
    return {
        "type": "object",
        "properties": {name: {"type": "string"} for name in names},
        "required": names,
        "additionalProperties": False,
    }


def request_body(settings: SummariesSettings, title: str, text: str) -> dict[str, Any]:
    """The chat-completions request asking for ``title`` and ``text`` summarised."""
    body: dict[str, Any] = {
        "model": settings.model,
        "messages": [
            {"role": "system", "content": system_prompt(settings.language)},
            {
                "role": "user",
                "content": f"Title: {title}\n\nAbstract:\n{text[:MAX_INPUT_CHARS]}",
            },
        ],
        "temperature": 0,
        "max_tokens": settings.max_tokens,
    }
    if settings.response_format == "json_object":
        body["response_format"] = {"type": "json_object"}
    elif settings.response_format == "json_schema":
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": "paper_summary",
                "strict": True,
                "schema": schema(settings.language),
            },
        }
    return body


_FENCE_RE = re.compile(r"^```(?:json)?\s*|\s*```$")


def parse_reply(payload: object, *, language: str, provider: str) -> Reply:
    """The summary in a chat-completions response body; ServerProblem("malformed") if
    it is not the JSON object asked for, with every field a non-empty string."""
    tokens = _tokens(payload)
    try:
        assert isinstance(payload, dict)
        choice = payload["choices"][0]
        content = choice["message"]["content"]
        assert isinstance(content, str)
    except (AssertionError, KeyError, IndexError, TypeError) as err:
        raise ServerProblem(
            "the reply is not a chat completion (no choices[0].message.content)",
            kind="malformed",
            tokens=tokens,
        ) from err
    if choice.get("finish_reason") == "length":
        raise ServerProblem(
            "the reply was cut at max_tokens before the JSON ended (raise [summaries] max_tokens)",
            kind="malformed",
            tokens=tokens,
        )
    try:
        data = json.loads(_FENCE_RE.sub("", content.strip()))
    except ValueError as err:
        raise ServerProblem(
            f"the reply is not JSON: {content[:80]!r}", kind="malformed", tokens=tokens
        ) from err
    wanted = [*FIELDS, *(["title"] if language else [])]
    if not isinstance(data, dict):
        raise ServerProblem("the reply is JSON but not an object", kind="malformed", tokens=tokens)
    bad = [name for name in wanted if not isinstance(data.get(name), str) or not data[name].strip()]
    if bad:
        raise ServerProblem(
            f"the reply lacks {', '.join(bad)} (or they are not text)",
            kind="malformed",
            tokens=tokens,
        )
    summary = Summary(
        tldr=" ".join(data["tldr"].split()),
        background=" ".join(data["background"].split()),
        innovation=" ".join(data["innovation"].split()),
        conclusion=" ".join(data["conclusion"].split()),
        title=" ".join(data["title"].split()) if language else None,
        language=language or None,
        provider=provider,
    )
    return Reply(summary, tokens)


def _tokens(payload: object) -> int:
    usage = payload.get("usage") if isinstance(payload, dict) else None
    if isinstance(usage, dict):
        total = usage.get("total_tokens")
        if isinstance(total, int) and not isinstance(total, bool):
            return total
        parts = [usage.get("prompt_tokens"), usage.get("completion_tokens")]
        if all(isinstance(p, int) for p in parts):
            return sum(p for p in parts if isinstance(p, int))
    return 0


def retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class ChatClient:
    """Asks one server for summaries over one HTTP client (thread-safe: httpx's is)."""

    def __init__(
        self, settings: SummariesSettings, *, api_key: str | None, client: httpx.Client
    ) -> None:
        self.settings = settings
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = client
        self.provider = f"openai-compatible/{settings.model}"

    def summarise(self, title: str, text: str, *, timeout: float) -> Reply:
        """One request; ServerProblem on any failure (see its ``kind``)."""
        body = request_body(self.settings, title, text)
        estimate = (len(body["messages"][0]["content"]) + len(title) + len(text)) // 4
        try:
            response = self.client.post(self.url, json=body, headers=self.headers, timeout=timeout)
        except httpx.TimeoutException as err:
            raise ServerProblem(f"no reply within {timeout:g} s", kind="transient") from err
        except httpx.ConnectError as err:
            raise ServerProblem(
                f"cannot connect to {self.settings.base_url} ({err}): is the server running?",
                kind="fatal",
            ) from err
        except httpx.HTTPError as err:
            raise ServerProblem(f"the connection failed: {err}", kind="transient") from err
        status = response.status_code
        if status == 429:
            raise ServerProblem(
                "the server is rate limiting (HTTP 429)",
                kind="rate-limited",
                retry_after=retry_after(response.headers.get("retry-after"), now=datetime.now(UTC)),
            )
        if status >= 500:
            raise ServerProblem(f"the server failed (HTTP {status})", kind="transient")
        if status in (401, 403):
            key = self.settings.api_key_env
            raise ServerProblem(
                f"the server refused the API key (HTTP {status})"
                + (f": check ${key}" if key else ": set [summaries] api_key_env"),
                kind="fatal",
            )
        if status >= 400:
            raise ServerProblem(
                f"the server refused the request (HTTP {status}: {_error_text(response)});"
                " check [summaries] model and base_url",
                kind="fatal",
            )
        try:
            payload = response.json()
        except ValueError as err:
            raise ServerProblem(
                "the response is not JSON", kind="malformed", tokens=estimate
            ) from err
        reply = parse_reply(payload, language=self.settings.language, provider=self.provider)
        return reply if reply.tokens else Reply(reply.summary, estimate)


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
        error = data.get("error") if isinstance(data, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        if isinstance(message, str):
            return message[:120]
    except ValueError:
        pass
    return response.text[:120].strip() or response.reason_phrase
