"""A subscriber's digest: which entries one subscriber gets, and the email's HTML and text.

Owns the per-subscriber selection (categories, keywords), the email templates
(``templates/email.html``, ``email.txt``: table layout, CSS inlined, at most 680 px,
dark-mode aware, a preheader, no remote images) and keeping the HTML under Gmail's
clipping limit. Pure: no SMTP, no database, no files; ``deliver`` sends the result.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cache
from urllib.parse import quote

import css_inline

from .._common.safety import one_line, strip_controls
from .._output import templating
from .._output.digest import Digest, DigestItem, DigestSection
from .._update.normalize import html_to_text
from ..config.mail import EmailSettings, Subscriber, ascii_address

# Scripts written without spaces between words: a keyword in them matches anywhere.
_UNSPACED = re.compile(
    "[\u2e80-\u2fdf\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f]"
)


def _fold(text: str) -> str:
    # NFKC first: full-width "ＬＬＭ" and half-width katakana match their usual forms.
    return unicodedata.normalize("NFKC", text).casefold()


@cache
def _pattern(keyword: str) -> re.Pattern[str]:
    folded = re.escape(_fold(keyword.strip()))
    if _UNSPACED.search(keyword):
        return re.compile(folded)
    # At the start of a word: "LLM" finds "LLMs" and "multi-LLM", not "ALLMAN".
    return re.compile(rf"(?<!\w){folded}")


def entry_text(item: DigestItem) -> str:
    """What keywords are searched in: title, summary and structured sections."""
    entry = item.entry
    parts = [entry.title, html_to_text(entry.summary) if entry.summary else ""]
    parts += [f"{heading} {text}" for heading, text in entry.sections]
    return _fold("\n".join(parts))


def matches(item: DigestItem, keywords: tuple[str, ...]) -> bool:
    """True when no keywords are set or one of them occurs (case-insensitive)."""
    if not keywords:
        return True
    text = entry_text(item)
    return any(_pattern(keyword).search(text) for keyword in keywords)


def select(digest: Digest, subscriber: Subscriber) -> Digest:
    """The part of ``digest`` ``subscriber`` asked for; sections left empty are dropped.

    An entry shown elsewhere "in full under" a category this subscriber does not get
    is shown in full in the first of their sections that lists it.
    """
    wanted = {c.casefold() for c in subscriber.categories}

    def keep(items: tuple[DigestItem, ...]) -> tuple[DigestItem, ...]:
        return tuple(i for i in items if matches(i, subscriber.keywords))

    sections: list[DigestSection] = []
    for section in digest.sections:
        if wanted and section.category.casefold() not in wanted:
            continue
        items = keep(section.items)
        if items:
            groups = tuple(replace(g, items=keep(g.items)) for g in section.groups)
            sections.append(
                replace(section, items=items, groups=tuple(g for g in groups if g.items))
            )
    present = {section.category for section in sections}
    # Where each orphaned entry is shown in full now: its first remaining section.
    homes: dict[str, str] = {}
    for section in sections:
        for item in section.items:
            if item.see is not None and item.see not in present:
                homes.setdefault(item.entry.key, section.category)
    rehomed: list[DigestSection] = []
    for section in sections:

        def fix(item: DigestItem, category: str = section.category) -> DigestItem:
            if item.see is None or item.see in present:
                return item
            home = homes[item.entry.key]
            return replace(item, see=None if home == category else home)

        rehomed.append(
            replace(
                section,
                items=tuple(fix(i) for i in section.items),
                groups=tuple(
                    replace(g, items=tuple(fix(i) for i in g.items)) for g in section.groups
                ),
            )
        )
    return replace(digest, sections=tuple(rehomed))


def subject(digest: Digest) -> str:
    """``Daily digest 2026-01-14: 12 new, 2 updated in cs.AI, cs.CL``."""
    keys_new = {i.entry.key for s in digest.sections for i in s.items if i.status == "new"}
    keys_updated = {i.entry.key for s in digest.sections for i in s.items} - keys_new
    counts = f"{len(keys_new)} new"
    if keys_updated:
        counts += f", {len(keys_updated)} updated"
    names = [s.category for s in digest.sections]
    where = ", ".join(names) if len(names) <= 3 else f"{len(names)} categories"
    if not names:
        return f"{digest.title} {digest.day.isoformat()}: nothing new"
    return f"{digest.title} {digest.day.isoformat()}: {counts} in {where}"


def preheader(digest: Digest) -> str:
    """The line inboxes show after the subject: the first titles."""
    titles = [i.entry.title for s in digest.sections for i in s.items]
    titles = list(dict.fromkeys(titles))
    text = " · ".join(titles[:3])
    return text if len(text) <= 140 else text[:139].rstrip() + "…"


# Characters of a mailbox name a mailto URI keeps as they are (RFC 6068 2).
_MAILTO_SAFE = "!$'()*+,;:"


@dataclass(frozen=True)
class Unsubscribe:
    url: str | None
    mailto: str | None


def unsubscribe_for(
    settings: EmailSettings, subscriber: Subscriber, token: str | None = None
) -> Unsubscribe:
    """The subscriber's unsubscribe URL (``{email}`` and ``{token}`` filled in) and
    mailto URI (its subject ``unsubscribe <token>``).

    Both ASCII, as List-Unsubscribe needs them: the configured URL is (see
    ``mailconfig``), the address is percent-encoded into it, and a mailto address
    with a UTF-8 mailbox name or domain is written as RFC 6068 says. ``token`` is the
    subscriber's signed token (base64url, so it needs no encoding).
    """
    url = settings.unsubscribe_url
    if url is not None:
        url = url.replace("{email}", quote(subscriber.email, safe="@"))
        url = url.replace("{token}", token or "")
    mailto = settings.unsubscribe_mailto
    if mailto:
        local, _, domain = ascii_address(mailto).rpartition("@")
        subject = f"unsubscribe%20{token}" if token else "unsubscribe"
        mailto = f"mailto:{quote(local, safe=_MAILTO_SAFE)}@{domain}?subject={subject}"
    return Unsubscribe(url=url, mailto=mailto or None)


@dataclass(frozen=True)
class EmailContent:
    """The rendered email of one subscriber."""

    #: None for subscribers who asked for text only.
    html: str | None
    text: str
    #: Entries shown per category when the HTML had to be cut; None when all are shown.
    limit: int | None


_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
_IMG = re.compile(r"<img\b[^>]*?>", re.IGNORECASE | re.DOTALL)
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def strip_images(html: str) -> str:
    """Replace every ``<img>`` by its alt text: no remote content is loaded on opening."""

    def alt(match: re.Match[str]) -> str:
        found = _ALT.search(match.group(0))
        return (found.group(1) or found.group(2) or "") if found else ""

    return _IMG.sub(alt, html)


def online_url(digest: Digest, base_url: str) -> str:
    return f"{base_url}digests/{digest.day.isoformat()}/index.html"


def render_email(
    digest: Digest,
    *,
    subscriber: Subscriber,
    settings: EmailSettings,
    base_url: str,
    token: str | None = None,
) -> EmailContent:
    """The subscriber's email as HTML (CSS inlined) and text with the same content.

    When the HTML would exceed ``settings.max_html_bytes`` (Gmail clips at about
    102 KB), each category shows only its first N entries, N as large as fits, with
    a link to the full digest online.
    """
    env = templating.environment()
    links = unsubscribe_for(settings, subscriber, token)
    context = {
        "digest": digest,
        "base_url": base_url,
        "online_url": online_url(digest, base_url),
        "subscriber": subscriber,
        "unsubscribe_url": links.url,
        "unsubscribe_mailto": links.mailto,
        "preheader": preheader(digest),
        "one_line": one_line,
    }

    # Stored text may carry control characters (ESC and OSC sequences that drive a
    # terminal showing the message): removed from the whole rendering, line breaks kept.
    def text(limit: int | None) -> str:
        return strip_controls(env.get_template("email.txt").render(context, limit=limit))

    if subscriber.format == "text":
        return EmailContent(html=None, text=text(None), limit=None)

    def html(limit: int | None) -> str:
        return strip_controls(
            strip_images(
                _INLINER.inline(env.get_template("email.html").render(context, limit=limit))
            )
        )

    def fits(body: str) -> bool:
        return len(body.encode("utf-8")) <= settings.max_html_bytes

    full = html(None)
    if fits(full):
        return EmailContent(html=full, text=text(None), limit=None)
    # Largest N whose HTML fits; N = 0 keeps the headings, counts and links.
    low, high = 0, max(len(s.items) for s in digest.sections) - 1
    best = html(0)
    while low <= high:
        middle = (low + high) // 2
        candidate = html(middle)
        if fits(candidate):
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    limit = max(high, 0)
    return EmailContent(html=best, text=text(limit), limit=limit)
