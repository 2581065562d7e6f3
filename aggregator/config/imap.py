"""The IMAP mailbox unsubscribe mail is read from: ``[email] unsubscribe_imap``.

Owns parsing and checking its URL into validated data. Never connects (reading the
mailbox is :mod:`aggregator._mail.imap`'s).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..errors import ConfigError


@dataclass(frozen=True)
class ImapMailbox:
    """Where unsubscribe mail is read from, as ``[email] unsubscribe_imap`` says."""

    tls: bool  #: imaps:// (TLS from the start); imap:// upgrades with STARTTLS
    host: str
    port: int
    user: str
    folder: str

    def __str__(self) -> str:
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def parse_url(url: str, *, file: str | None = None, key: str = "") -> ImapMailbox:
    """The mailbox an ``imap(s)://USER@HOST[:PORT][/FOLDER]`` URL names; ConfigError if not one."""
    parts = urlsplit(url.strip())
    problem = None
    if parts.scheme not in ("imap", "imaps"):
        problem = "must start with imaps:// or imap://"
    elif not parts.hostname:
        problem = "names no host"
    elif not parts.username:
        problem = "names no user (imaps://USER@HOST/FOLDER)"
    elif parts.password is not None:
        problem = "must not hold the password (use unsubscribe_imap_password_env)"
    elif parts.query or parts.fragment:
        problem = "must not have a query or a fragment"
    if problem is not None:
        raise ConfigError(f"{url!r} {problem}", file=file, key=key)
    try:
        port = parts.port
    except ValueError as err:
        raise ConfigError(f"{url!r} has a bad port: {err}", file=file, key=key) from None
    folder = unquote(parts.path.strip("/")) or "INBOX"
    if not folder.isascii() or any(c in folder for c in '"\\\r\n'):
        raise ConfigError(
            f"folder {folder!r} is not supported: use a plain ASCII folder name",
            file=file,
            key=key,
        )
    tls = parts.scheme == "imaps"
    return ImapMailbox(
        tls,
        parts.hostname or "",
        port or (993 if tls else 143),
        unquote(parts.username or ""),
        folder,
    )
