"""Composing one subscriber's digest message: the MIME structure and every header.

Owns the email policy every message is built with, and with it the two rules for
headers that no caller can forget:

- Every header value is made one line (:func:`aggregator._common.safety.one_line`) where it is
  stored into the message, whatever it came from (a category in the subject, the
  digest's title in ``List-Id``, a display name from the config): a line break in
  stored data can never add a header, and never makes composing fail.
- Headers whose content is structured (URLs, addresses, identifiers: ``List-Id``,
  ``List-Unsubscribe``, ``List-Unsubscribe-Post``, ``Message-ID``, ``Auto-Submitted``)
  are folded at white space between their elements (RFC 5322 2.2.3) and never
  RFC 2047-encoded: Python's policy encodes any word too long for a line, and a
  ``List-Unsubscribe`` sent as ``=?utf-8?q?=3Chttps...?=`` is one no provider's
  one-click unsubscribe reads. Free text (``Subject``, display names) is folded and,
  where it is not ASCII, encoded by the standard library as usual.

Pure: renders nothing (``email_digest`` does), sends nothing (``deliver`` does).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy, Policy
from email.utils import format_datetime, quote
from typing import Any

from .._common.safety import one_line
from .._output.digest import Digest
from ..config.mail import EmailSettings, Subscriber, ascii_address, ascii_list_id
from .digest import EmailContent, subject, unsubscribe_for

#: RFC 5322 2.1.1: a line of a message is at most 998 characters (without CRLF).
MAX_LINE = 998

# RFC 5322 atext, white space and "." (obs-phrase): a phrase of these needs no quotes.
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~. \u0080-\U0010FFFF]*")


class StructuredHeader(BaseHeader):
    """A header of URLs, addresses or identifiers: folded between its elements, never
    encoded. Its value is one line of elements separated by single spaces (``<a>, <b>``
    folds as ``<a>,`` CRLF `` <b>``), so unfolding gives the value back exactly.
    """

    max_count = 1

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        kwds["decoded"] = one_line(value)
        kwds["parse_tree"] = None  # folded by hand below, never by the token parser

    def fold(self, *, policy: Policy) -> str:
        """``Name: value`` CRLF, broken before an element that would pass the line length.

        Raises ValueError when the value is not ASCII and the policy is not SMTPUTF8
        (it would have to be encoded), or an element alone is too long for a line.
        """
        value = str(self)
        if not (value.isascii() or getattr(policy, "utf8", False)):
            raise ValueError(f"{self.name}: {value!r} must be ASCII (it cannot be encoded)")
        limit = policy.max_line_length or MAX_LINE
        label = f"{self.name}:"
        lines = [label]
        for word in value.split(" ") if value else ():
            if len(lines[-1]) + 1 + len(word) > limit and lines[-1] not in (label, ""):
                lines.append("")
            lines[-1] += " " + word
        too_long = next((line for line in lines if len(line.encode()) > MAX_LINE), None)
        if too_long is not None:
            raise ValueError(
                f"{self.name}: a line of {len(too_long.encode())} bytes, over RFC 5322's"
                f" {MAX_LINE}: {value[:60]}..."
            )
        return policy.linesep.join(lines) + policy.linesep


#: Headers whose content is structured (see :class:`StructuredHeader`).
STRUCTURED = (
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "message-id",
    "auto-submitted",
    "x-auto-response-suppress",
)


class ComposePolicy(EmailPolicy):
    """The standard SMTP policy, with every header value made one line when stored."""

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if isinstance(value, str):
            value = one_line(value)
        elif isinstance(value, Address):
            value = Address(
                display_name=one_line(value.display_name),
                username=value.username,
                domain=value.domain,
            )
        return super().header_store_parse(name, value)


def _registry() -> HeaderRegistry:
    registry = HeaderRegistry()
    for name in STRUCTURED:
        registry.map_to_type(name, StructuredHeader)
    return registry


#: 7bit transfer encodings unless SMTPUTF8 is in use anyway: any server takes them.
POLICY = ComposePolicy(linesep="\r\n", cte_type="7bit", header_factory=_registry())
#: For messages to or from an address with a UTF-8 mailbox name (RFC 6531, 6532).
POLICY_UTF8 = POLICY.clone(utf8=True, cte_type="8bit")


def message_id(day: str, subscriber: str, settings: EmailSettings) -> str:
    """The same for a (day, subscriber) on every attempt, so a resend is recognisable."""
    digest = hashlib.sha256(subscriber.casefold().encode("utf-8")).hexdigest()[:16]
    domain = settings.sender.domain.encode("idna").decode("ascii")
    return f"<digest.{day}.{digest}@{domain}>"


def needs_smtputf8(settings: EmailSettings, subscriber: Subscriber) -> bool:
    """True when an address has a non-ASCII mailbox name (RFC 6531)."""
    return not (
        settings.sender.username.isascii() and subscriber.email.rpartition("@")[0].isascii()
    )


def _header_address(address: str, name: str, *, utf8: bool) -> Address:
    local, _, domain = (address if utf8 else ascii_address(address)).rpartition("@")
    # username/domain rather than addr_spec: the latter refuses UTF-8 mailbox names.
    return Address(display_name=name, username=local, domain=domain)


def phrase(text: str, *, utf8: bool) -> str:
    """``text`` as an RFC 5322 phrase (the name before ``<list-id>``).

    Left as it is when it is only words, quoted when it holds specials (``<``, ``,``,
    ``"``...), RFC 2047-encoded when it is not ASCII and the message is not SMTPUTF8
    (encoded words are allowed in a phrase, RFC 2047 5(3); never in the ``<...>``).
    """
    text = one_line(text)
    if not utf8 and not text.isascii():
        # Words of at most 64 characters: with "List-Id: " in front, a line stays under 78.
        return " ".join(Header(text, "utf-8").encode(maxlinelen=64).split())
    return text if _ATOMS.fullmatch(text) else f'"{quote(text)}"'


def build_message(
    digest: Digest,
    content: EmailContent,
    *,
    subscriber: Subscriber,
    settings: EmailSettings,
    now: datetime,
    token: str | None = None,
) -> EmailMessage:
    """The subscriber's message: text/plain, or multipart/alternative with text then HTML.

    Raises ValueError when a header cannot be written as the RFCs require (e.g. an
    unsubscribe URL too long for a line).
    """
    utf8 = needs_smtputf8(settings, subscriber)
    msg = EmailMessage(policy=POLICY_UTF8 if utf8 else POLICY)
    sender = settings.sender
    msg["Subject"] = subject(digest)
    msg["From"] = _header_address(sender.addr_spec, sender.display_name, utf8=utf8)
    msg["To"] = _header_address(subscriber.email, subscriber.name or "", utf8=utf8)
    if settings.reply_to is not None:
        reply = settings.reply_to
        msg["Reply-To"] = _header_address(reply.addr_spec, reply.display_name, utf8=utf8)
    msg["Date"] = format_datetime(now.astimezone(UTC))
    msg["Message-ID"] = message_id(digest.day.isoformat(), subscriber.email, settings)
    msg["List-Id"] = f"{phrase(digest.title, utf8=utf8)} <{ascii_list_id(settings.list_id)}>"
    links = unsubscribe_for(settings, subscriber, token)
    targets = [f"<{link}>" for link in (links.url, links.mailto) if link]
    if targets:
        msg["List-Unsubscribe"] = ", ".join(targets)
    if links.url:
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Keep out-of-office replies and other robots away (RFC 3834; Exchange).
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(content.text, subtype="plain", charset="utf-8")
    if content.html is not None:
        msg.add_alternative(content.html, subtype="html", charset="utf-8")
        for part in msg.iter_parts():
            del part["MIME-Version"]  # belongs to the top level only
        # Deterministic, so a dry run's .eml is byte for byte what a send transmits.
        # "=_" never occurs in quoted-printable or base64 bodies.
        msg.set_boundary("=_" + hashlib.sha256(msg["Message-ID"].encode()).hexdigest()[:32])
    return msg
