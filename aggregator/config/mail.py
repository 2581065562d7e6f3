"""Email settings: the ``[email]`` table and ``[[subscribers]]``, validated into values.

Owns the schema of every email key (type, default, help), the rules for addresses
(RFC 5322 dot-atoms, internationalised domains and UTF-8 local parts) and the checks
that need several keys at once. Reads no environment variable and opens no socket:
the password's *variable name* is stored, its value is read when sending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from .._common.safety import safe_url
from ..errors import ConfigError
from .imap import ImapMailbox, parse_url
from .interests import Interests, parse_interests
from .schema import Schema, typed_table

SECURITY = ("none", "starttls", "tls")
FORMATS = ("html", "text")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
LOOPBACK = ("localhost", "127.0.0.1", "::1")

# key: (type, default, help). Every key is documented in config/example.toml.
EMAIL_SCHEMA: Schema = {
    "smtp_host": (str, "localhost", "SMTP server that accepts the digests"),
    "smtp_port": (int, None, "SMTP port (default: 25, 587 for starttls, 465 for tls)"),
    "security": (str, None, "none | starttls | tls (default: none for localhost, else starttls)"),
    "username": (str, None, "SMTP user name; needs password_env"),
    "password_env": (str, None, "NAME of the environment variable holding the password"),
    "timeout": ((int, float), 30.0, "seconds before an SMTP operation is abandoned"),
    "from": (str, None, "sender address, optionally with a name (required)"),
    "reply_to": (str, None, "Reply-To address"),
    "list_id": (str, None, "List-Id header (default: derived from the sender)"),
    "unsubscribe_url": (
        str,
        None,
        "http(s) unsubscribe URL, at most 400 characters; {email} and {token} are replaced",
    ),
    "unsubscribe_secret_env": (
        str,
        None,
        "NAME of the variable holding the key that signs unsubscribe links"
        " (default: one the database generates and keeps)",
    ),
    "unsubscribe_mailto": (str, None, "address that handles unsubscribe mails"),
    "unsubscribe_imap": (
        str,
        None,
        "imaps://USER@HOST[:PORT]/FOLDER (or imap:// with STARTTLS) where unsubscribe mails"
        " arrive, for `subscribers read-imap`",
    ),
    "unsubscribe_imap_password_env": (
        str,
        None,
        "NAME of the environment variable holding unsubscribe_imap's password",
    ),
    "send_empty": (bool, False, "also mail subscribers whose selection is empty"),
    "max_retries": (int, 3, "retries of a temporary failure within one send"),
    "backoff": ((int, float), 30.0, "seconds before the first retry; doubles each time"),
    "max_html_bytes": (int, 100_000, "largest HTML part before entries are cut"),
    "resume_days": (
        int,
        3,
        "earlier days whose unfinished deliveries each run finishes (0: only the run's day)",
    ),
}

SUBSCRIBER_SCHEMA: Schema = {
    "email": (str, None, "the subscriber's address (required)"),
    "name": (str, None, "display name used in the To header"),
    "categories": (list, None, "categories to include (default: all)"),
    "keywords": (list, None, "only entries mentioning one of these words"),
    "format": (str, "html", "html (with a text alternative) | text"),
    "max_entries": (
        int,
        0,
        "entries per category shown in full; the rest as a list of titles (0: all in full)",
    ),
    "personal_feed": (bool, False, "also publish an Atom feed of this reader's entries"),
    "interests": (dict, None, "this reader's interests (default: the [interests] table)"),
}


@dataclass(frozen=True)
class Subscriber:
    """One recipient of the daily digest."""

    #: The address as it goes on the wire (domain in lower case; IDN kept as Unicode).
    email: str
    name: str | None
    #: Empty means every category.
    categories: tuple[str, ...]
    keywords: tuple[str, ...]
    format: str
    #: Entries per category shown in full, the rest as a list of titles; 0: all in full.
    max_entries: int = 0
    #: Publish ``feeds/personal/<token>.atom`` for this reader.
    personal_feed: bool = False
    #: Their own interests; None: the ``[interests]`` table's (the default profile).
    interests: Interests | None = None

    @property
    def key(self) -> str:
        """The delivery log's name for this subscriber."""
        return self.email


@dataclass(frozen=True)
class EmailSettings:
    smtp_host: str
    smtp_port: int
    security: str
    username: str | None
    password_env: str | None
    timeout: float
    sender: Address
    reply_to: Address | None
    list_id: str
    unsubscribe_url: str | None
    unsubscribe_mailto: str | None
    send_empty: bool
    max_retries: int
    backoff: float
    max_html_bytes: int
    #: ``run`` also finishes the deliveries left pending on this many earlier days.
    resume_days: int = 3
    #: The NAME of the variable holding the unsubscribe links' key (None: the database's).
    unsubscribe_secret_env: str | None = None
    #: Where unsubscribe mail is read from by ``subscribers read-imap`` (None: nowhere).
    unsubscribe_imap: ImapMailbox | None = None
    #: The NAME of the variable holding that mailbox's password.
    unsubscribe_imap_password_env: str | None = None


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010FFFF]+"
_LOCAL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def normalize_address(text: str) -> str:
    """``local@domain`` checked, its domain lower-cased; ValueError says what is wrong.

    Accepts internationalised domains (checked through their IDNA form) and UTF-8
    local parts (RFC 6531; they need a server with SMTPUTF8). Quoted local parts,
    IP-literal domains and single-label domains are refused.
    """
    text = text.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"{text!r} is not an email address (expected name@domain)")
    if len(local) > 64 or not _LOCAL.fullmatch(local):
        raise ValueError(f"{text!r}: the part before @ is not a valid mailbox name")
    domain = domain.lower().rstrip(".")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{text!r}: {domain!r} is not a valid domain name") from None
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(x) for x in labels):
        raise ValueError(f"{text!r}: {domain!r} is not a valid domain name") from None
    return f"{local}@{domain}"


def ascii_address(address: str) -> str:
    """The address with its domain in IDNA form (the local part is left as is)."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def _address(text: str, *, file: str, key: str) -> Address:
    name, addr = parseaddr(text)
    if not addr:
        raise ConfigError(f"{text!r} is not an email address", file=file, key=key)
    try:
        normalized = normalize_address(addr)
    except ValueError as err:
        raise ConfigError(str(err), file=file, key=key) from None
    local, _, domain = normalized.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def _strings(value: list[Any] | None, *, file: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise ConfigError("expected a list of non-empty strings", file=file, key=key)
    return tuple(dict.fromkeys(item.strip() for item in value))


def _email(raw: Any, *, file: str) -> EmailSettings:
    v = typed_table(raw, EMAIL_SCHEMA, file=file, where="email")
    security, port = _server(v, file=file)
    _login(v, security, file=file)
    _limits(v, file=file)
    sender = _sender(v, file=file)
    reply_to = _address(v["reply_to"], file=file, key="email.reply_to") if v["reply_to"] else None
    url = v["unsubscribe_url"]
    if url is not None:
        url = _unsubscribe_url(url, file=file)
    mailto = v["unsubscribe_mailto"]
    if mailto is not None:
        mailto = _address(mailto.removeprefix("mailto:"), file=file, key="email.unsubscribe_mailto")
    return EmailSettings(
        smtp_host=v["smtp_host"].strip(),
        smtp_port=port,
        security=security,
        username=v["username"],
        password_env=v["password_env"],
        timeout=float(v["timeout"]),
        sender=sender,
        reply_to=reply_to,
        list_id=_list_id(v["list_id"], sender, file=file),
        unsubscribe_url=url,
        unsubscribe_mailto=mailto.addr_spec if mailto else None,
        send_empty=v["send_empty"],
        max_retries=v["max_retries"],
        backoff=float(v["backoff"]),
        max_html_bytes=v["max_html_bytes"],
        resume_days=v["resume_days"],
        unsubscribe_secret_env=_variable_name(
            v["unsubscribe_secret_env"], file=file, key="email.unsubscribe_secret_env"
        ),
        **_imap(v, file=file),
    )


def _imap(v: dict[str, Any], *, file: str) -> dict[str, Any]:
    """``unsubscribe_imap`` and its password variable: both or neither."""
    url, env = v["unsubscribe_imap"], v["unsubscribe_imap_password_env"]
    if (url is None) != (env is None):
        raise ConfigError(
            "unsubscribe_imap and unsubscribe_imap_password_env go together",
            file=file,
            key="email.unsubscribe_imap" if url is None else "email.unsubscribe_imap_password_env",
            hint="name the mailbox and the variable holding its password",
        )
    if url is None:
        return {}
    key = "email.unsubscribe_imap_password_env"
    return {
        "unsubscribe_imap": parse_url(url, file=file, key="email.unsubscribe_imap"),
        "unsubscribe_imap_password_env": _variable_name(env, file=file, key=key),
    }


def _variable_name(name: str | None, *, file: str, key: str) -> str | None:
    if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ConfigError(
            f"{name!r} is not an environment variable name",
            file=file,
            key=key,
            hint="give the NAME of a variable, never the secret itself",
        )
    return name


def _server(v: dict[str, Any], *, file: str) -> tuple[str, int]:
    """The security (none for a loopback host, else starttls, unless given) and the port."""
    security = v["security"]
    if security is None:
        security = "none" if v["smtp_host"].strip() in LOOPBACK else "starttls"
    if security not in SECURITY:
        raise ConfigError(
            f"unknown security {security!r}",
            file=file,
            key="email.security",
            hint=f"one of: {', '.join(SECURITY)}",
        )
    port = v["smtp_port"] if v["smtp_port"] is not None else DEFAULT_PORTS[security]
    if not 0 < port < 65536:
        raise ConfigError(f"{port} is not a TCP port", file=file, key="email.smtp_port")
    if not v["smtp_host"].strip():
        raise ConfigError("must not be empty", file=file, key="email.smtp_host")
    return security, port


def _login(v: dict[str, Any], security: str, *, file: str) -> None:
    """A username goes with the NAME of a password variable, and never unencrypted."""
    if (v["username"] is None) != (v["password_env"] is None):
        raise ConfigError(
            "give both username and password_env, or neither",
            file=file,
            key="email.username" if v["username"] is None else "email.password_env",
        )
    if v["password_env"] is not None and not re.fullmatch(
        r"[A-Za-z_][A-Za-z0-9_]*", v["password_env"]
    ):
        raise ConfigError(
            f"{v['password_env']!r} is not an environment variable name",
            file=file,
            key="email.password_env",
            hint='give the NAME of a variable, e.g. password_env = "SMTP_PASSWORD", '
            "never the password itself",
        )
    if v["username"] is not None and security == "none" and v["smtp_host"] not in LOOPBACK:
        raise ConfigError(
            "would send the password unencrypted",
            file=file,
            key="email.security",
            hint='use security = "starttls" or "tls" with a username',
        )


def _limits(v: dict[str, Any], *, file: str) -> None:
    if v["timeout"] <= 0 or v["backoff"] < 0 or v["max_retries"] < 0:
        raise ConfigError(
            "timeout must be positive, backoff and max_retries not negative", file=file, key="email"
        )
    if v["resume_days"] < 0:
        raise ConfigError("must not be negative", file=file, key="email.resume_days")
    if v["max_html_bytes"] < 10_000:
        raise ConfigError("must be at least 10000", file=file, key="email.max_html_bytes")


def _sender(v: dict[str, Any], *, file: str) -> Address:
    if v["from"] is None:
        raise ConfigError(
            "the sender address is required",
            file=file,
            key="email.from",
            hint='e.g. from = "Daily digest <digest@example.org>"',
        )
    return _address(v["from"], file=file, key="email.from")


def _list_id(given: str | None, sender: Address, *, file: str) -> str:
    """The List-Id: as given, else derived from the sender's address."""
    list_id = given or f"{sender.username}.{sender.domain}"
    list_id = list_id.strip().strip("<>")
    if not re.fullmatch(r"[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+", ascii_list_id(list_id)):
        raise ConfigError(
            f"{list_id!r} is not a list identifier",
            file=file,
            key="email.list_id",
            hint='use a dotted name you control, e.g. list_id = "daily.example.org"',
        )
    return list_id


#: Longest unsubscribe URL (before {email} is filled in): its header line, with the
#: longest address filled in, stays under RFC 5322's 998 characters.
MAX_UNSUBSCRIBE_URL = 400


def _unsubscribe_url(url: str, *, file: str) -> str:
    """The URL as it goes into List-Unsubscribe: ASCII (IDNA host, other characters
    percent-encoded), since a header of URLs can be folded but never encoded."""
    key = "email.unsubscribe_url"
    checked = safe_url(url.strip())
    if checked is None:
        raise ConfigError(
            f"expected an http(s) URL with a host and no spaces, got {url!r}", file=file, key=key
        )
    parts = urlsplit(checked)
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ConfigError(f"{host!r} is not a valid host name", file=file, key=key) from None
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if parts.username is not None or "[" in parts.netloc:
        netloc = parts.netloc  # user info and IP literals are ASCII already
    rest = urlunsplit(("", "", parts.path, parts.query, parts.fragment))
    ascii_url = f"{parts.scheme}://{netloc}" + re.sub(
        r"[^\x21-\x7e]", lambda m: quote(m.group(0), safe=""), rest
    )
    if len(ascii_url) > MAX_UNSUBSCRIBE_URL:
        raise ConfigError(
            f"{len(ascii_url)} characters; at most {MAX_UNSUBSCRIBE_URL}",
            file=file,
            key=key,
            hint="a List-Unsubscribe header line must stay under 998 characters",
        )
    return ascii_url


def ascii_list_id(list_id: str) -> str:
    try:
        return list_id.encode("idna").decode("ascii")
    except UnicodeError:
        return list_id


def _subscribers(raw: Any, *, file: str, base: Path) -> tuple[Subscriber, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(
            "expected an array of tables ([[subscribers]])", file=file, key="subscribers"
        )
    found: list[Subscriber] = []
    seen: set[str] = set()
    for index, table in enumerate(raw):
        where = f"subscribers[{index}]"
        v = typed_table(table, SUBSCRIBER_SCHEMA, file=file, where=where)
        if v["email"] is None:
            raise ConfigError("every subscriber needs an email", file=file, key=f"{where}.email")
        where = f"subscribers[{index}] ({v['email']})"
        try:
            address = normalize_address(v["email"])
        except ValueError as err:
            raise ConfigError(str(err), file=file, key=f"{where}.email") from None
        if address.lower() in seen:
            raise ConfigError(f"{address} is listed twice", file=file, key=where)
        seen.add(address.lower())
        if v["format"] not in FORMATS:
            raise ConfigError(
                f"unknown format {v['format']!r}",
                file=file,
                key=f"{where}.format",
                hint=f"one of: {', '.join(FORMATS)}",
            )
        if v["max_entries"] < 0:
            raise ConfigError("must not be negative", file=file, key=f"{where}.max_entries")
        interests = (
            None
            if v["interests"] is None
            else parse_interests(v["interests"], file=file, where=f"{where}.interests", base=base)
        )
        found.append(
            Subscriber(
                email=address,
                name=v["name"].strip() or None if v["name"] else None,
                categories=_strings(v["categories"], file=file, key=f"{where}.categories"),
                keywords=_strings(v["keywords"], file=file, key=f"{where}.keywords"),
                format=v["format"],
                max_entries=v["max_entries"],
                personal_feed=v["personal_feed"],
                interests=interests,
            )
        )
    return tuple(found)


def parse_email(
    raw: dict[str, Any], *, file: str, base: Path | None = None
) -> tuple[EmailSettings | None, tuple[Subscriber, ...]]:
    """The ``[email]`` settings (None when absent: sending is off) and the subscribers.

    ``base``: the folder a subscriber's ``interests.like_file`` is relative to.
    """
    email = _email(raw["email"], file=file) if "email" in raw else None
    subscribers = _subscribers(raw.get("subscribers"), file=file, base=base or Path.cwd())
    return email, subscribers
