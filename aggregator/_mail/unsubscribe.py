"""Unsubscribing: signed per-subscriber tokens, and reading unsubscribe mails.

Owns the token that goes into each subscriber's unsubscribe link and mailto subject:
an HMAC-SHA256 of the address (lower case) under a secret, so that only links this
database made are honoured and nobody can unsubscribe someone else by guessing. The
secret is ``[email] unsubscribe_secret_env``'s variable when the config names one,
else a random one the database generates and keeps (see ``Storage.secret``).

Also owns reading a mailbox (an mbox file) of requests sent to ``unsubscribe_mailto``:
a message counts when its subject or body holds a valid token (found by trying the
configured subscribers' tokens); with ``trust_from`` a message from a subscriber's
own address counts without one. Recording is the caller's (the facade's): this module
writes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import mailbox
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses
from pathlib import Path

from ..config.mail import EmailSettings, Subscriber
from ..errors import ConfigError, DeliveryError

#: The database's name for the generated signing key.
SECRET_NAME = "unsubscribe"
#: Characters of a token: 32 of base64url (192 bits of the HMAC).
TOKEN_LENGTH = 32
_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])")


def token_for(secret: str, address: str) -> str:
    """The unsubscribe token of ``address`` (case-insensitive) under ``secret``."""
    mac = hmac.new(secret.encode(), b"unsubscribe\0" + address.lower().encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode()[:TOKEN_LENGTH]


def valid(secret: str, address: str, token: str) -> bool:
    """Whether ``token`` is ``address``'s (compared in constant time)."""
    return hmac.compare_digest(token_for(secret, address).encode(), token.encode())


def configured_secret(settings: EmailSettings, environ: Mapping[str, str]) -> str | None:
    """The secret from the variable ``[email] unsubscribe_secret_env`` names, if any.

    Raises ConfigError when the variable is named but unset or shorter than 16
    characters (links signed with a guessable key would let anyone unsubscribe anyone).
    """
    name = settings.unsubscribe_secret_env
    if name is None:
        return None
    value = environ.get(name, "")
    if len(value) < 16:
        raise ConfigError(
            f"the environment variable {name} is {'unset' if not value else 'too short'}",
            key="email.unsubscribe_secret_env",
            hint=f"set {name} to at least 16 random characters, e.g. the output of"
            " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`,"
            " or remove the key to let the database keep a generated one",
        )
    return value


def secret_for(settings: EmailSettings, store_secret: str | None) -> str:
    """The configured secret, else the database's (generated on first use)."""
    found = configured_secret(settings, os.environ)
    if found is not None:
        return found
    if store_secret is None:
        raise DeliveryError("no secret to sign unsubscribe links with")
    return store_secret


@dataclass(frozen=True)
class MailRequest:
    """What one message in the mailbox asked for."""

    #: The subscriber to unsubscribe; None when the message proves nobody.
    address: str | None
    #: The message's From, Subject and Message-ID, for the report.
    sender: str
    subject: str
    message_id: str
    #: "token" (a valid token found), "from" (trusted sender), or why it was ignored.
    reason: str


def _text_of(message: Message) -> str:
    """The subject and the text parts of ``message`` (decoded as far as possible)."""
    parts = [str(message.get("Subject", ""))]
    for part in message.walk():
        if part.get_content_maintype() != "text":
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            parts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(parts)


def read_requests(
    messages: Iterable[Message],
    subscribers: Iterable[Subscriber],
    secret: str,
    *,
    trust_from: bool = False,
) -> list[MailRequest]:
    """What each message asks: whose token it carries (or, with ``trust_from``, which
    subscriber sent it). Pure: the caller records the result."""
    by_token = {token_for(secret, s.email): s.email for s in subscribers}
    by_address = {address.lower(): address for address in by_token.values()}
    found: list[MailRequest] = []
    for message in messages:
        sender = next((a for _, a in getaddresses([str(message.get("From", ""))]) if a), "")
        subject = " ".join(str(message.get("Subject", "")).split())
        message_id = str(message.get("Message-ID", "")).strip()
        tokens = [t for t in _TOKEN.findall(_text_of(message)) if t in by_token]
        if tokens:
            address, reason = by_token[tokens[0]], "token"
        elif trust_from and sender.lower() in by_address:
            address, reason = by_address[sender.lower()], "from"
        else:
            address = None
            reason = (
                "no valid token (from a subscriber: --trust-from would accept it)"
                if sender.lower() in by_address
                else "no valid token, not from a subscriber"
            )
        found.append(MailRequest(address, sender, subject, message_id, reason))
    return found


def mbox_messages(path: Path) -> list[Message]:
    """The messages of the mbox file ``path``; DeliveryError when it cannot be read."""
    if not path.is_file():
        raise DeliveryError(f"no such mbox file: {path}")
    try:
        box = mailbox.mbox(path, create=False)
        try:
            return list(box)
        finally:
            box.close()
    except (OSError, mailbox.Error) as err:
        raise DeliveryError(f"cannot read the mbox file {path}: {err}") from err
