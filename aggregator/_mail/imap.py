"""Reading unsubscribe mail from an IMAP mailbox (``[email] unsubscribe_imap``).

Owns the IMAP conversation: connecting (``imaps://`` over TLS; ``imap://`` upgraded with
STARTTLS, and in clear only to a loopback address), logging in, fetching the messages of
one folder without marking them read, and marking read the ones that were handled, so
the next read skips them. Parsing what a message asks is :mod:`.unsubscribe`'s;
recording it is the facade's. Never writes to the database.
"""

from __future__ import annotations

import email
import imaplib
import ipaddress
import os
import re
import socket
import ssl
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from typing import Any

from ..config.imap import ImapMailbox
from ..config.mail import EmailSettings
from ..errors import ConfigError, DeliveryError

#: Largest message fetched (an unsubscribe request is a few KB; a bigger one is skipped).
MAX_MESSAGE_BYTES = 1_000_000
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def mailbox_of(
    settings: EmailSettings, environ: Mapping[str, str] = os.environ
) -> tuple[ImapMailbox, str]:
    """The configured mailbox and its password (from the variable the config names)."""
    box, env = settings.unsubscribe_imap, settings.unsubscribe_imap_password_env
    if box is None or env is None:
        raise ConfigError(
            "[email] unsubscribe_imap is not set",
            hint='add unsubscribe_imap = "imaps://USER@HOST/INBOX" and'
            " unsubscribe_imap_password_env to [email], or use `subscribers read-mbox`",
        )
    password = environ.get(env)
    if not password:
        raise ConfigError(
            f"[email] unsubscribe_imap_password_env: the environment variable {env} is not set",
            hint=f"set {env} to the password of {box.user} in the environment of aggregator",
        )
    return box, password


@dataclass(frozen=True)
class FetchedMail:
    """One message of the folder, with its UID (to mark it read once handled)."""

    uid: int
    message: Message


class ImapReader:
    """An open, logged-in connection with the folder selected (see :func:`open_mailbox`)."""

    def __init__(self, client: imaplib.IMAP4, box: ImapMailbox) -> None:
        self._client = client
        self._box = box

    def messages(self, *, include_seen: bool = False) -> list[FetchedMail]:
        """The folder's unread messages (every message with ``include_seen``), oldest
        first, left unread; a message over :data:`MAX_MESSAGE_BYTES` is skipped."""
        found = self._call("UID SEARCH", "search", "ALL" if include_seen else "UNSEEN")
        uids = [int(u) for u in b" ".join(x for x in found if isinstance(x, bytes)).split()]
        mails = []
        for uid in uids:
            data = self._call("UID FETCH", "fetch", str(uid), "(UID RFC822.SIZE BODY.PEEK[])")
            mail = _one_message(data)
            if mail is not None:
                mails.append(mail)
        return mails

    def mark_seen(self, uids: Sequence[int]) -> None:
        """Flag the messages ``uids`` as read (``\\Seen``)."""
        if uids:
            self._call("UID STORE", "store", ",".join(map(str, uids)), "+FLAGS.SILENT", r"(\Seen)")

    def _call(self, what: str, command: str, *args: str) -> list[Any]:
        try:
            status, data = self._client.uid(command, *args)
        except (imaplib.IMAP4.error, OSError) as err:
            raise _failed(self._box, f"{what} failed: {err}") from err
        if status != "OK":
            raise _failed(self._box, f"{what} was refused: {_said(data)}")
        return list(data)


def _one_message(data: Sequence[object]) -> FetchedMail | None:
    """The message in one ``UID FETCH`` answer (None when it was too large or absent)."""
    for item in data:
        if not isinstance(item, tuple) or len(item) < 2:
            continue
        head, body = item[0], item[1]
        uid, size = _UID.search(head), _SIZE.search(head)
        if uid is None or not isinstance(body, bytes):
            continue
        if size is not None and int(size.group(1)) > MAX_MESSAGE_BYTES:
            return None
        return FetchedMail(int(uid.group(1)), email.message_from_bytes(body))
    return None


@contextmanager
def open_mailbox(
    box: ImapMailbox, password: str, *, timeout: float, context: ssl.SSLContext | None = None
) -> Iterator[ImapReader]:
    """Connect to ``box``, log in and select its folder; log out at the end.

    A clear-text login is refused unless the server is on a loopback address: over
    ``imap://`` the connection must be upgraded with STARTTLS first.
    """
    context = context or ssl.create_default_context()
    client = _connect(box, timeout, context)
    try:
        try:
            if not box.tls:
                _starttls(client, box, context)
            client.login(box.user, password)
            status, data = client.select(f'"{box.folder}"')
        except imaplib.IMAP4.error as err:
            raise _failed(box, f"login or select refused: {err}", hint=_LOGIN_HINT) from err
        except (OSError, ssl.SSLError) as err:
            raise _failed(box, f"the connection failed: {err}") from err
        if status != "OK":
            raise _failed(box, f"cannot open folder {box.folder!r}: {_said(data)}")
        yield ImapReader(client, box)
    finally:
        _close(client)


_LOGIN_HINT = (
    "check the user in [email] unsubscribe_imap, the password in the variable"
    " unsubscribe_imap_password_env names, and the folder name"
)


def _connect(box: ImapMailbox, timeout: float, context: ssl.SSLContext) -> imaplib.IMAP4:
    try:
        if box.tls:
            return imaplib.IMAP4_SSL(box.host, box.port, ssl_context=context, timeout=timeout)
        return imaplib.IMAP4(box.host, box.port, timeout=timeout)
    except (OSError, imaplib.IMAP4.error) as err:
        raise _failed(
            box, f"cannot connect: {err}", hint="check the host and port, and that the server runs"
        ) from err


def _starttls(client: imaplib.IMAP4, box: ImapMailbox, context: ssl.SSLContext) -> None:
    if "STARTTLS" in client.capabilities:
        client.starttls(ssl_context=context)
    elif not _is_loopback(box.host):
        raise _failed(
            box,
            "the server does not offer STARTTLS, and the password would cross the network in clear",
            hint="use imaps:// (port 993), or a server that offers STARTTLS",
        )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def _close(client: imaplib.IMAP4) -> None:
    try:
        if client.state == "SELECTED":
            client.close()
        client.logout()
    except (imaplib.IMAP4.error, OSError):
        pass  # the work is done or already failed; nothing to save


def _said(data: object) -> str:
    if isinstance(data, list) and data and isinstance(data[0], bytes):
        return data[0].decode("utf-8", "replace")
    return str(data)


def _failed(box: ImapMailbox, what: str, hint: str | None = None) -> DeliveryError:
    return DeliveryError(f"IMAP mailbox {box}: {what}", hint=hint)
