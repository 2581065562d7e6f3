"""A subscriber's digest: which entries one subscriber gets, and the email's HTML and text.

Owns the per-subscriber selection (categories, keywords), the email templates
(``templates/email.html``, ``email.txt``: table layout, CSS inlined, at most 680 px,
dark-mode aware, a preheader, no remote images) and keeping the HTML under Gmail's
clipping limit. Pure: no SMTP, no database, no files; ``deliver`` sends the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import quote

import css_inline

from .._common.matching import fold as _fold
from .._common.matching import keyword_pattern as _pattern
from .._common.safety import one_line, strip_controls
from .._output import templating
from .._output.digest import Digest, DigestItem, DigestSection
from .._update.normalize import html_to_text
from ..config.mail import EmailSettings, Subscriber, ascii_address


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
    #: Entries shown in full per category when the HTML had to be cut; None when all
    #: are shown as asked (``max_entries``).
    limit: int | None
    #: Further entries listed by title per category when not all of them fit (the
    #: rest are linked online); None when every other entry is listed.
    titles: int | None = None


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


#: Entries per category still shown in full when not even the titles of the others
#: fit in the HTML: the most relevant, before as many titles as fit.
FALLBACK_FULL = 5


def render_email(
    digest: Digest,
    *,
    subscriber: Subscriber,
    settings: EmailSettings,
    base_url: str,
    feed_url: str | None = None,
    token: str | None = None,
) -> EmailContent:
    """The subscriber's email as HTML (CSS inlined) and text with the same content.

    Each category shows its first ``subscriber.max_entries`` entries in full (all when
    0) and the others as a list of titles with links. When the HTML would exceed
    ``settings.max_html_bytes`` (Gmail clips at about 102 KB), fewer are in full (see
    :func:`_fit`). ``feed_url``: the subscriber's personal feed, named in the footer.
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
        "feed_url": feed_url,
    }
    wanted = subscriber.max_entries or None

    # Stored text may carry control characters (ESC and OSC sequences that drive a
    # terminal showing the message): removed from the whole rendering, line breaks kept.
    def text(limit: int | None, titles: int | None = None) -> str:
        return strip_controls(
            env.get_template("email.txt").render(context, limit=limit, titles=titles)
        )

    if subscriber.format == "text":
        return EmailContent(html=None, text=text(wanted, None), limit=None)

    def html(limit: int | None, titles: int | None = None) -> str:
        page = env.get_template("email.html").render(context, limit=limit, titles=titles)
        return strip_controls(strip_images(_INLINER.inline(page)))

    full = html(wanted)
    if len(full.encode("utf-8")) <= settings.max_html_bytes:
        return EmailContent(html=full, text=text(wanted, None), limit=None)
    return _fit(digest, html, text, wanted, settings.max_html_bytes)


def _fit(
    digest: Digest,
    html: Callable[[int | None, int | None], str],
    text: Callable[[int | None, int | None], str],
    wanted: int | None,
    most: int,
) -> EmailContent:
    """The email with N entries in full per category, N as large as fits in ``most``
    bytes of HTML, the others as titles; if even the titles alone do not fit, the
    first few in full, as many titles as fit and a link to the full digest online."""

    def fits(body: str) -> bool:
        return len(body.encode("utf-8")) <= most

    longest = max(len(s.items) for s in digest.sections)
    cap = min(wanted or longest, longest)
    # Largest N in full (the others as titles) whose HTML fits.
    best, limit = _largest(lambda n: html(n, None), fits, cap - 1)
    if best is not None:
        return EmailContent(html=best, text=text(limit, None), limit=limit)
    # Not even every title fits: the first few in full (up to FALLBACK_FULL, as many
    # as fit), then as many titles as fit beside them, then a link to the rest.
    best, limit = _largest(lambda n: html(n, 0), fits, min(cap, FALLBACK_FULL))
    more, titles = _largest(lambda n: html(limit, n), fits, longest - limit)
    return EmailContent(
        html=more or best or html(0, 0), text=text(limit, titles), limit=limit, titles=titles
    )


def _largest(
    render: Callable[[int], str], fits: Callable[[str], bool], high: int
) -> tuple[str | None, int]:
    """The rendering of the largest n in [0, ``high``] that fits, and n (binary search:
    the size grows with n); (None, 0) when not even n = 0 fits."""
    low, best, found = 0, None, 0
    while low <= high:
        middle = (low + high) // 2
        candidate = render(middle)
        if fits(candidate):
            best, found, low = candidate, middle, middle + 1
        else:
            high = middle - 1
    return best, found
