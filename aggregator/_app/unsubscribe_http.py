"""``/unsubscribe`` in ``aggregator serve``: RFC 8058 one-click unsubscribing.

Each digest's ``List-Unsubscribe`` URL carries the subscriber's address and signed
token (``?email=...&token=...``, see ``_mail/unsubscribe.py``). Here:

- ``POST`` with the form field ``List-Unsubscribe=One-Click`` (sent by mail providers
  as ``application/x-www-form-urlencoded`` or ``multipart/form-data``, RFC 8058 3.1)
  and a valid token records the unsubscribe and answers 200; no cookie, login or
  redirect is involved. A wrong token is 403, a body without the field 400.
- ``GET`` never unsubscribes (link checkers and virus scanners open every link in a
  mail): it shows a page with one button that sends that POST.

Owns parsing the request and writing the small pages; recording is the facade's
(passed in as an :class:`Unsubscriber`). Never reads or writes files.
"""

from __future__ import annotations

import hmac
import html
import logging
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from typing import Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

from ..errors import AggregatorError

log = logging.getLogger(__name__)

PATH = "/unsubscribe"
#: Largest request body read: the one field, with room for a multipart envelope.
MAX_BODY = 8192
#: The page's form posts to this server, which the default policy forbids.
FORM_POLICY = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline';"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}


class _Readable(Protocol):
    def read(self, size: int | None = ..., /) -> bytes: ...


class Handler(Protocol):
    """What this module needs of serve's request handler (serve imports this module)."""

    extra_headers: dict[str, str]

    @property
    def path(self) -> str: ...

    @property
    def headers(self) -> Message: ...

    @property
    def rfile(self) -> _Readable: ...

    def send_page(
        self, status: HTTPStatus, headers: dict[str, str], body: bytes, *, send_body: bool
    ) -> None: ...


class Unsubscriber(Protocol):
    """What the endpoint needs of the facade."""

    def unsubscribe_token(self, address: str) -> str: ...

    def unsubscribe(
        self, address: str, *, token: str | None, via: str, detail: str = ""
    ) -> bool: ...


def answer(handler: Handler, unsubscriber: Unsubscriber, *, method: str) -> None:
    """Answer a GET, HEAD or POST of :data:`PATH`."""
    query = parse_qs(urlsplit(handler.path).query)
    address = (query.get("email") or [""])[0].strip()
    token = (query.get("token") or [""])[0].strip()
    if not address or not token or not _valid(unsubscriber, address, token):
        _page(handler, HTTPStatus.FORBIDDEN, "This unsubscribe link is not valid", "", method)
        return
    if method in ("GET", "HEAD"):
        action = PATH + "?" + urlencode({"email": address, "token": token})
        form = (
            f'<form method="post" action="{html.escape(action)}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit">Unsubscribe {html.escape(address)}</button></form>'
        )
        _page(handler, HTTPStatus.OK, "Stop receiving the digest?", form, method)
        return
    if not _one_click(handler):
        _page(
            handler,
            HTTPStatus.BAD_REQUEST,
            "Expected the form field List-Unsubscribe=One-Click",
            "",
            method,
        )
        return
    try:
        new = unsubscriber.unsubscribe(address, token=token, via="one-click")
    except AggregatorError as err:
        log.warning("unsubscribe of %s failed: %s", address, err.describe())
        _page(handler, HTTPStatus.SERVICE_UNAVAILABLE, "Please try again later", "", method)
        return
    log.info("%s unsubscribed (one-click%s)", address, "" if new else ", again")
    text = f"<p>{html.escape(address)} will receive no more digests.</p>"
    _page(handler, HTTPStatus.OK, "You are unsubscribed", text, method)


def _valid(unsubscriber: Unsubscriber, address: str, token: str) -> bool:
    try:
        expected = unsubscriber.unsubscribe_token(address)
    except AggregatorError:
        return False
    return hmac.compare_digest(expected.encode(), token.encode())


def _one_click(handler: Handler) -> bool:
    """Whether the POST body carries ``List-Unsubscribe=One-Click``."""
    try:
        length = int(handler.headers.get("Content-Length", ""))
    except ValueError:
        return False
    if not 0 < length <= MAX_BODY:
        return False
    body = handler.rfile.read(length)
    kind = handler.headers.get("Content-Type", "")
    if kind.split(";")[0].strip().lower() == "multipart/form-data":
        envelope = f"Content-Type: {kind}\r\n\r\n".encode() + body
        message = BytesParser(policy=HTTP).parsebytes(envelope)
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "List-Unsubscribe":
                payload = part.get_payload(decode=True)
                value = payload.decode("ascii", "replace") if isinstance(payload, bytes) else ""
                return value.strip() == "One-Click"
        return False
    fields = parse_qs(body.decode("ascii", "replace"))
    return (fields.get("List-Unsubscribe") or [""])[0].strip() == "One-Click"


def _page(handler: Handler, status: HTTPStatus, title: str, body: str, method: str) -> None:
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;"
        "padding:0 1em}button{font-size:1.1em;padding:.5em 1em}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    ).encode()
    headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
    handler.extra_headers = FORM_POLICY
    try:
        handler.send_page(status, headers, page, send_body=method != "HEAD")
    finally:
        handler.extra_headers = {}
