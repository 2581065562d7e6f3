"""Identity keys and content hashes of every sample document, for the golden file.

A change to normalisation must not change the content hash (or the identity key) of an
ordinary entry: a rerun on an existing database would report every entry as updated
(or new) and mail it again. ``compute()`` reads every sample in ``seeds/`` and
``tests/data/`` (not ``hostile/``, whose entries are meant to change, nor the
near-duplicate evaluation data in ``dedup/``, nor the output schemas in ``schemas/``)
and the benchmark generator's feeds, as
an HTTP source would (relative links resolved), with every parser that reads it, and
hashes each document's (key, content hash) list.

Regenerate ``tests/data/golden/content-hashes.json`` only when a hash is meant to change,
and say why in the commit::

    python tests/corpus_hashes.py > tests/data/golden/content-hashes.json

It uses only APIs that have not changed since the file was first written, so the same
command with ``PYTHONPATH`` pointing at an older checkout shows what that one computed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # the benchmark's feed generator, when run as a script

from aggregator._sources import ParseOptions, get_parser  # noqa: E402
from aggregator._update.normalize import normalize  # noqa: E402
from aggregator.errors import ParseError  # noqa: E402
from benchmarks import feeds as generator  # noqa: E402

GOLDEN = ROOT / "tests" / "data" / "golden" / "content-hashes.json"
#: (kind, feed engine): every way a sample may be read.
READERS = (
    ("feed", "auto"),
    ("feed", "feedparser"),
    ("arxiv", "auto"),
    ("markdown", "auto"),
    ("markdown-digest", "auto"),
    ("page", "auto"),
)
OPTIONS = ParseOptions(location="https://example.org/feeds/feed.xml")


def documents() -> list[tuple[str, bytes]]:
    paths = sorted(
        path
        for folder in (ROOT / "seeds", ROOT / "tests" / "data")
        for path in folder.rglob("*")
        if path.is_file()
        and not {"hostile", "golden", "dedup", "likes", "schemas"} & set(path.parts)
    )
    found = [(path.relative_to(ROOT).as_posix(), path.read_bytes()) for path in paths]
    found += [(f"generated-{n}", generator.feed_bytes(n, entries=40)) for n in range(6)]
    return found


def compute() -> dict[str, str]:
    """``{"<document> <kind> <engine>": sha256 of its entries' keys and hashes}``."""
    result: dict[str, str] = {}
    for name, data in documents():
        for kind, engine in READERS:
            try:
                parsed = get_parser(kind, engine)(data, source="s", options=OPTIONS)
            except ParseError:
                continue
            lines = []
            for position, item in enumerate(parsed.entries, start=1):
                entry = normalize(item, source="s", position=position)
                lines.append(f"{entry.key} {entry.content_hash}")
            if lines:
                digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
                result[f"{name} {kind} {engine}"] = f"{len(lines)} {digest}"
    return result


if __name__ == "__main__":
    json.dump(compute(), sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")
