"""Check that bytes are a valid JSON Feed 1.1 document, for tests of what we publish.

``validate_json_feed(data)`` raises AssertionError listing every problem. It decodes the
bytes as UTF-8 JSON (the spec's encoding for what we publish), validates them against
``data/schemas/jsonfeed-1.1.schema.json`` (written from https://www.jsonfeed.org/version/1.1/),
then checks the rules a schema cannot express:

- item ``id``s are unique within the feed (an id is "unique for that item for that feed");
- ``next_url`` is not ``feed_url`` ("must not be the same as feed_url").
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).parent / "data" / "schemas" / "jsonfeed-1.1.schema.json"


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_json_feed(data: bytes) -> dict[str, Any]:
    """The document in ``data``; AssertionError naming each problem unless it is valid."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AssertionError(f"not UTF-8 JSON: {err}") from err
    problems = [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in sorted(_validator().iter_errors(document), key=lambda e: list(e.path))
    ]
    if not problems:
        problems += _cross_problems(document)
    if problems:
        raise AssertionError("not valid JSON Feed 1.1:\n" + "\n".join(f"- {p}" for p in problems))
    result: dict[str, Any] = document
    return result


def _cross_problems(document: dict[str, Any]) -> list[str]:
    problems = []
    counts = Counter(item["id"] for item in document["items"])
    repeated = sorted(i for i, n in counts.items() if n > 1)
    if repeated:
        problems.append(f"item ids repeated: {', '.join(repeated)}")
    if "next_url" in document and document["next_url"] == document.get("feed_url"):
        problems.append("next_url is the feed_url")
    return problems
