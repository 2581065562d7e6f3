"""Check that bytes are a valid Atom 1.0 document (RFC 4287), for tests of what we publish.

``validate_atom(data)`` raises AssertionError listing every problem. It validates with the
RFC's RELAX NG grammar (``data/atom.rng``, converted from ``data/atom.rnc`` with
``trang -I rnc -O rng``; regenerate it the same way if the .rnc changes), then checks the
rules the grammar leaves to prose or Schematron, which RELAX NG validators do not enforce:

- the feed and each entry have exactly one atom:id, atom:title and atom:updated;
- an entry without atom:content has a rel="alternate" link (a link without rel counts);
- the feed has an atom:author, or every entry has one (its own or its atom:source's);
- every atom:id is an absolute IRI;
- at most one rel="alternate" link per type and hreflang, in the feed and in each entry;
- atom:updated and atom:published are RFC 3339 date-times with an offset (uppercase T, Z).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path

from lxml import etree

ATOM_NS = "http://www.w3.org/2005/Atom"
SCHEMA_PATH = Path(__file__).parent / "data" / "atom.rng"

_A = f"{{{ATOM_NS}}}"
# RFC 3339 section 5.6 as RFC 4287 section 3.3 restricts it.
_RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# RFC 3987: an absolute IRI starts with a scheme and has no white space.
_ABSOLUTE_IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")


@cache
def _schema() -> etree.RelaxNG:
    return etree.RelaxNG(file=str(SCHEMA_PATH))


def validate_atom(data: bytes) -> None:
    """Raise AssertionError, naming each problem, unless ``data`` is a valid Atom document."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        raise AssertionError(f"not well-formed XML: {err}") from err
    schema = _schema()
    if not schema.validate(root):
        raise AssertionError(f"not valid against atom.rng:\n{schema.error_log}")
    problems = rfc4287_problems(root)
    if problems:
        raise AssertionError("breaks RFC 4287:\n" + "\n".join(f"- {p}" for p in problems))


def rfc4287_problems(root: etree._Element) -> list[str]:
    """The RFC 4287 rules the RELAX NG grammar cannot express, as messages."""
    problems: list[str] = []
    if root.tag == f"{_A}feed":
        entries = root.findall(f"{_A}entry")
        problems += _exactly_one(root, "feed")
        problems += _alternate_links(root, "feed")
        if root.find(f"{_A}author") is None:
            problems += [
                f"entry {_label(entry)} has no atom:author and neither has the feed"
                for entry in entries
                if not _has_author(entry)
            ]
    elif root.tag == f"{_A}entry":
        entries = [root]
        if not _has_author(root):
            problems.append(f"entry {_label(root)} has no atom:author")
    else:
        return [f"root element is {root.tag}, not atom:feed or atom:entry"]

    for entry in entries:
        where = f"entry {_label(entry)}"
        problems += _exactly_one(entry, where)
        problems += _alternate_links(entry, where)
        if entry.find(f"{_A}content") is None and not any(
            link.get("rel", "alternate") == "alternate" for link in entry.findall(f"{_A}link")
        ):
            problems.append(f"{where} has neither atom:content nor a rel=alternate link")

    for element in root.iter(f"{_A}id"):
        value = (element.text or "").strip()
        if not _ABSOLUTE_IRI_RE.match(value):
            problems.append(f"atom:id {value!r} is not an absolute IRI")
    for name in ("updated", "published"):
        for element in root.iter(f"{_A}{name}"):
            if not _is_rfc3339(element.text or ""):
                problems.append(f"atom:{name} {element.text!r} is not an RFC 3339 date-time")
    return problems


def _exactly_one(parent: etree._Element, where: str) -> list[str]:
    problems = []
    for name in ("id", "title", "updated"):
        count = len(parent.findall(f"{_A}{name}"))
        if count != 1:
            problems.append(f"{where} has {count} atom:{name} elements, not exactly one")
    return problems


def _alternate_links(parent: etree._Element, where: str) -> list[str]:
    seen: set[tuple[str | None, str | None]] = set()
    problems = []
    for link in parent.findall(f"{_A}link"):
        if link.get("rel", "alternate") != "alternate":
            continue
        key = (link.get("type"), link.get("hreflang"))
        if key in seen:
            problems.append(
                f"{where} has more than one rel=alternate link with type={key[0]!r} "
                f"and hreflang={key[1]!r}"
            )
        seen.add(key)
    return problems


def _has_author(entry: etree._Element) -> bool:
    return entry.find(f"{_A}author") is not None or entry.find(f"{_A}source/{_A}author") is not None


def _label(entry: etree._Element) -> str:
    found = entry.find(f"{_A}id")
    if found is not None and found.text:
        return repr(found.text.strip())
    parent = entry.getparent()
    position = list(parent).index(entry) + 1 if parent is not None else 1
    return f"#{position}"


def _is_rfc3339(text: str) -> bool:
    if not _RFC3339_RE.match(text.strip()):
        return False
    try:  # the date must exist and the offset be within a day
        datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
