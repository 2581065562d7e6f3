"""The ``[summaries]`` table: which summariser writes the digest's TL;DRs, validated.

Owns the schema of every summaries key (type, default, help) and its checks. Sends
nothing and reads no environment variable: ``api_key_env`` is only the variable's
*name*; ``aggregator/_enrich/summaries`` reads it when a run asks the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from .schema import Schema

PROVIDERS = ("extractive", "openai-compatible", "none")
RESPONSE_FORMATS = ("json_schema", "json_object", "none")
_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# key: (type, default, help). Every key is documented in config/example.toml.
SUMMARIES_SCHEMA: Schema = {
    "provider": (
        str,
        "extractive",
        "extractive (offline, sentences of the abstract) | openai-compatible | none",
    ),
    "base_url": (
        str,
        "",
        "openai-compatible: the API root, e.g. http://localhost:11434/v1 (Ollama)",
    ),
    "model": (str, "", "openai-compatible: the model name the server knows"),
    "api_key_env": (
        str,
        "",
        "openai-compatible: NAME of the environment variable holding the API key (never the key)",
    ),
    "language": (
        str,
        "",
        "also translate each title into this language (e.g. zh, de, ja); empty: no translation",
    ),
    "timeout": ((int, float), 60, "seconds one request to the server may take"),
    "max_seconds": (
        (int, float),
        600,
        "seconds all summaries of one run may take; the rest keep the extractive TL;DR",
    ),
    "concurrency": (int, 2, "requests to the server at once"),
    "max_entries_per_run": (int, 200, "entries summarised by the server per run (0: none)"),
    "max_tokens_per_run": (int, 200_000, "tokens (prompt + reply) spent per run (0: no limit)"),
    "max_tokens": (int, 700, "most tokens one reply may use"),
    "response_format": (
        str,
        "json_schema",
        "json_schema | json_object | none: how structured output is asked of the server",
    ),
}


@dataclass(frozen=True)
class SummariesSettings:
    """How entries get their TL;DR and sections (see SUMMARIES_SCHEMA for each)."""

    provider: str = "extractive"
    base_url: str = ""
    model: str = ""
    api_key_env: str = ""
    language: str = ""
    timeout: float = 60.0
    max_seconds: float = 600.0
    concurrency: int = 2
    max_entries_per_run: int = 200
    max_tokens_per_run: int = 200_000
    max_tokens: int = 700
    response_format: str = "json_schema"

    @property
    def uses_server(self) -> bool:
        return self.provider == "openai-compatible"


def parse_summaries(values: dict[str, Any], *, file: str) -> SummariesSettings:
    """Check the type-checked ``[summaries]`` values; a ConfigError names the key."""

    def fail(key: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, file=file, key=f"summaries.{key}", hint=hint)

    provider = values["provider"]
    if provider not in PROVIDERS:
        raise fail("provider", f"unknown provider {provider!r}", f"one of {', '.join(PROVIDERS)}")
    if values["response_format"] not in RESPONSE_FORMATS:
        raise fail(
            "response_format",
            f"unknown value {values['response_format']!r}",
            f"one of {', '.join(RESPONSE_FORMATS)}",
        )
    base_url = values["base_url"].strip()
    if provider == "openai-compatible":
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise fail(
                "base_url",
                "openai-compatible needs the server's API root as an http(s) URL",
                "e.g. http://localhost:11434/v1 for Ollama, https://api.openai.com/v1",
            )
        if not values["model"].strip():
            raise fail("model", "openai-compatible needs a model name")
    env = values["api_key_env"].strip()
    if env and not _ENV_NAME_RE.match(env):
        raise fail(
            "api_key_env",
            "expected the NAME of an environment variable, not its value",
            'e.g. api_key_env = "OPENAI_API_KEY", then export OPENAI_API_KEY=...',
        )
    language = values["language"].strip()
    if language and not _LANGUAGE_RE.match(language):
        raise fail("language", f"not a language tag: {language!r}", "e.g. zh, de, pt-BR")
    for key in ("timeout", "max_seconds"):
        if values[key] <= 0:
            raise fail(key, "must be more than 0 seconds")
    if values["concurrency"] < 1:
        raise fail("concurrency", "must be at least 1")
    for key in ("max_entries_per_run", "max_tokens_per_run"):
        if values[key] < 0:
            raise fail(key, "must be 0 or more")
    if values["max_tokens"] < 64:
        raise fail("max_tokens", "must be at least 64 (a reply needs room for four fields)")
    return SummariesSettings(
        provider=provider,
        base_url=base_url,
        model=values["model"].strip(),
        api_key_env=env,
        language=language,
        timeout=float(values["timeout"]),
        max_seconds=float(values["max_seconds"]),
        concurrency=values["concurrency"],
        max_entries_per_run=values["max_entries_per_run"],
        max_tokens_per_run=values["max_tokens_per_run"],
        max_tokens=values["max_tokens"],
        response_format=values["response_format"],
    )
