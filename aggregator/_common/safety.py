"""Making untrusted strings safe where they leave the program.

Owns the rules for what a string from a feed (or a config file) may be once it becomes a
published link, one line of a terminal or a mail header, or a file name. Pure functions;
no I/O. It never decides *whether* to keep an entry: callers drop or replace a value
this module refuses, and say so.

- :func:`safe_url`: an absolute ``http``/``https`` URL (and ``mailto:`` where a caller
  allows it), or ``None``. Browsers remove tabs and line breaks anywhere in a URL and
  ignore leading control characters and spaces (WHATWG URL standard), so
  ``java&#x09;script:`` is ``javascript:``; the scheme is judged after the same removal.
- :func:`one_line`: text for one line of a terminal, a log or a mail header: no control
  characters (C0, DEL, C1: ESC and OSC sequences lose their introducer), no line breaks,
  no bidirectional overrides, white space collapsed.
- :func:`strip_controls`: the same for multi-line text: line breaks and tabs kept.
- :func:`file_stem`: a portable file name stem from any string, at most
  :data:`MAX_STEM_BYTES` bytes of ASCII, with a hash suffix whenever it had to change
  anything, so that two different strings never share a file.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit, urlunsplit

#: Schemes a published link may have.
WEB_SCHEMES = frozenset({"http", "https"})

#: File name stems stay well under the 255 bytes most file systems allow, with room for a
#: suffix (``.atom``, ``.json``) and for the temporary file's prefix and suffix.
MAX_STEM_BYTES = 100

# C0 controls, DEL and C1 controls; the bidirectional embeddings, overrides and isolates
# ("Trojan Source"); and the line and paragraph separators.
_CONTROLS = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_CONTROL_RE = re.compile(f"[{_CONTROLS}]+")
_CONTROL_EXCEPT_LINES_RE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
# Everything a browser strips from inside a URL before reading it.
_URL_STRIP_RE = re.compile("[\t\n\r]")
_URL_LEADING_RE = re.compile("^[\x00-\x20]+|[\x00-\x20]+$")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# The common case, which safe_url returns unchanged without parsing it: a lower-case
# http(s) scheme, a host of letters, digits, dots and hyphens, perhaps a port of 0 to
# 65535 without leading zeros, then only printable ASCII, with no fragment and no
# empty query (both of which urlunsplit drops). Every published link is checked on its
# way out too, so this runs for each of them.
_PORT = (
    r"(?::(?:0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}"
    r"|655[0-2][0-9]|6553[0-5]))?"
)
_PLAIN_WEB_URL_RE = re.compile(
    r"https?://[A-Za-z0-9.\-]+" + _PORT + r"(?:/[!\"$-\x3e@-~]*)?(?:\?[!\"$-~]+)?\Z"
)
_STEM_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")
# Names Windows refuses whatever their extension.
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{n}" for n in range(10)} | {f"lpt{n}" for n in range(10)}
)


def safe_url(value: str | None, *, mailto: bool = False) -> str | None:
    """``value`` as an absolute web URL fit to publish, or ``None`` if it is not one.

    Allowed: ``http`` and ``https`` (and ``mailto`` when ``mailto`` is true) with a host.
    Refused: every other scheme (``javascript:``, ``vbscript:``, ``data:``, ``file:``),
    relative references (they would resolve against our own site), and URLs with
    control characters or spaces left inside. A scheme-relative ``//host/path`` becomes
    ``https://host/path``.
    """
    if not value:
        return None
    if _PLAIN_WEB_URL_RE.match(value):
        return value  # what the rest would return, for a fraction of the cost
    return _parsed_safe_url(value, mailto=mailto)


def _parsed_safe_url(value: str, *, mailto: bool) -> str | None:
    """:func:`safe_url` the long way: parsed and put together again."""
    url = _URL_LEADING_RE.sub("", _URL_STRIP_RE.sub("", value))
    if not url or _CONTROL_RE.search(url) or " " in url:
        return None
    if url.startswith("//"):
        url = "https:" + url
    match = _SCHEME_RE.match(url)
    if not match:
        return None
    scheme = match.group(1).lower()
    if scheme == "mailto":
        return url if mailto and len(url) > len("mailto:") else None
    if scheme not in WEB_SCHEMES:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return str(urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment)))


# Fast paths: every character these functions remove is one str.isprintable() rejects
# (categories Cc, Cf, Zl, Zp), and the test in C is about five times faster than the
# character class: these run for every title, author and body of every entry.


def one_line(value: str | None) -> str:
    """``value`` as one line with no control characters, white space collapsed."""
    if not value:
        return ""
    if value.isprintable():
        return " ".join(value.split())
    return " ".join(_CONTROL_RE.sub(" ", value).split())


def strip_controls(value: str | None) -> str:
    """``value`` with control characters removed but line breaks and tabs kept."""
    if not value:
        return ""
    if value.replace("\n", "").replace("\t", "").isprintable():
        return value
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_EXCEPT_LINES_RE.sub("", text)


def has_controls(value: str) -> bool:
    """Whether ``value`` holds a character :func:`one_line` would remove."""
    return not value.isprintable() and bool(_CONTROL_RE.search(value))


def file_stem(name: str, *, reserved: frozenset[str] = frozenset(), fallback: str = "x") -> str:
    """A file name stem for ``name``: itself when that is safe, else a safe slug + hash.

    Safe means ASCII letters, digits, ``.``, ``_`` and ``-`` only, not starting or
    ending with ``.`` or ``-``, at most :data:`MAX_STEM_BYTES` bytes, not a name Windows
    reserves, not in ``reserved`` (compared case-insensitively) and already lower-case
    or free of any other name's case collision risk: callers that publish several
    names into one folder should pass them through :func:`distinct_stems`. A name
    with nothing safe in it (``機械学習``) becomes ``fallback`` and the hash.
    """
    slug = _STEM_UNSAFE_RE.sub("-", name).strip(".-")
    lowered = slug.lower()
    if (
        slug
        and slug == name
        and len(slug) <= MAX_STEM_BYTES
        and lowered.split(".")[0] not in _WINDOWS_RESERVED
        and lowered not in reserved
    ):
        return slug
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{(slug or fallback)[: MAX_STEM_BYTES - 9].rstrip('.-') or fallback}-{digest}"


def distinct_stems(
    names: list[str] | tuple[str, ...],
    *,
    reserved: frozenset[str] = frozenset(),
    fallback: str = "x",
) -> dict[str, str]:
    """A stem per name, distinct even on a case-insensitive file system.

    Each name gets :func:`file_stem`; where two stems differ only in case (``cs.AI`` and
    ``cs.ai``), every one of them but the first in sorted order gets a hash suffix, so
    the choice does not depend on the order ``names`` came in.
    """
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(set(names)):
        stem = file_stem(name, reserved=reserved, fallback=fallback)
        if stem.lower() in taken:
            digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
            stem = f"{stem[: MAX_STEM_BYTES - 9]}-{digest}"
        taken.add(stem.lower())
        stems[name] = stem
    return stems
