"""The SMTP connection: the only code that speaks SMTP (smtplib).

Owns connecting (plain, STARTTLS or implicit TLS, certificates verified), logging in,
and one message transaction at a time (MAIL, RCPT, DATA and the message) so that the
caller can record "sending" in the delivery log at the last moment: after the whole
message has reached the server and before the final ``.`` that hands it over. A
server keeps no message whose connection closes before that dot, so a crash up to
there leaves nothing behind. Every smtplib and socket error becomes an
:class:`~aggregator.errors.SmtpError` saying whether it is temporary and whether the
whole connection is lost. Knows nothing of digests.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..config.mail import EmailSettings
from ..errors import SmtpError


@dataclass(frozen=True)
class Reply:
    """The server's answer to the end of DATA: the message is its responsibility now."""

    code: int
    text: str


class Mailer(Protocol):
    """What ``deliver`` needs from a mail transport (an SMTP connection, or a test's)."""

    def send(
        self,
        sender: str,
        recipient: str,
        message: bytes,
        *,
        smtputf8: bool,
        before_end: Callable[[], bool],
    ) -> Reply | None:
        """Hand ``message`` over; None if ``before_end()`` said not to go on.

        ``before_end`` is called when the server has all but the end of the message:
        nothing is delivered if it returns False or raises.
        """
        ...

    def close(self) -> None: ...


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def dot_stuffed(message: bytes) -> bytes:
    """The message as DATA carries it: CRLF line ends, leading dots doubled, a final CRLF.

    Without the ``.`` line that ends it, which is sent on its own.
    """
    lines = re.sub(rb"\r\n|\n|\r", b"\r\n", message)
    stuffed = re.sub(rb"(?m)^\.", b"..", lines)
    return stuffed if stuffed.endswith(b"\r\n") else stuffed + b"\r\n"


def _failure(stage: str, code: int, reply: bytes | str, *, session: bool = False) -> SmtpError:
    return SmtpError(
        f"{stage}: {code} {_text(reply)}",
        code=code,
        temporary=400 <= code < 500,
        session=session,
    )


class SmtpMailer:
    """One SMTP connection, opened on first use and reused for every message."""

    def __init__(self, settings: EmailSettings, password: str | None) -> None:
        self.settings = settings
        self.password = password
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        try:
            smtp = self._open(context)
            self._greet(smtp, context)
        except SmtpError:
            self._discard(smtp)
            raise
        except (smtplib.SMTPException, OSError) as err:
            self._discard(smtp)
            raise self._connect_failure(err) from err
        return smtp

    def _open(self, context: ssl.SSLContext) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            return smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.timeout, context=context)
        return smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout)

    def _greet(self, smtp: smtplib.SMTP, context: ssl.SSLContext) -> None:
        """EHLO, STARTTLS when configured, and the login when there is a username."""
        s = self.settings
        smtp.ehlo()
        if s.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise SmtpError(
                    f"{self.where} does not offer STARTTLS",
                    temporary=False,
                    session=True,
                    hint='set [email] security = "tls" (implicit TLS, usually port 465),'
                    ' or "none" for a trusted local relay',
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        if s.username is not None:
            smtp.login(s.username, self.password or "")

    def _connect_failure(self, err: smtplib.SMTPException | OSError) -> SmtpError:
        """Why no usable connection could be made, and what to check."""
        if isinstance(err, smtplib.SMTPAuthenticationError):
            return SmtpError(
                f"{self.where} refused the login of {self.settings.username!r}:"
                f" {err.smtp_code} {_text(err.smtp_error)}",
                code=err.smtp_code,
                temporary=False,
                session=True,
                hint="check [email] username and the password in the variable named by"
                " [email] password_env",
            )
        if isinstance(err, smtplib.SMTPNotSupportedError):
            return SmtpError(
                f"{self.where}: {err}",
                temporary=False,
                session=True,
                hint="the server offers no login on this connection: check [email] security"
                " and smtp_port, or remove username",
            )
        if isinstance(err, ssl.SSLError):
            return SmtpError(
                f"TLS with {self.where} failed: {err}",
                temporary=False,
                session=True,
                hint="check [email] security and smtp_port (465 is implicit tls, 587"
                " starttls) and that the server's certificate is valid for smtp_host",
            )
        if isinstance(err, smtplib.SMTPResponseException):
            return _failure(
                f"{self.where} refused the connection", err.smtp_code, err.smtp_error, session=True
            )
        return SmtpError(
            f"cannot connect to {self.where} ({self._reason(err)})",
            temporary=True,
            session=True,
            hint="check the server is running and [email] smtp_host and smtp_port",
        )

    def _reason(self, err: Exception) -> str:
        """Why a connection could not be made, in a few words."""
        if isinstance(err, ConnectionRefusedError):
            return "connection refused"
        if isinstance(err, TimeoutError):
            return f"no answer within {self.settings.timeout:g} s"
        if isinstance(err, socket.gaierror):
            return f"host not found: {err.strerror}"
        if isinstance(err, smtplib.SMTPServerDisconnected):
            return "the server closed the connection"
        if isinstance(err, OSError) and err.strerror:
            return err.strerror
        return str(err) or type(err).__name__

    @staticmethod
    def _discard(smtp: smtplib.SMTP | None) -> None:
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()

    def send(
        self,
        sender: str,
        recipient: str,
        message: bytes,
        *,
        smtputf8: bool,
        before_end: Callable[[], bool],
    ) -> Reply | None:
        """MAIL, RCPT, DATA, the message, ``before_end()``, the final dot.

        Returns the server's reply to the final dot, or None when ``before_end()``
        returned False (the connection is then closed, so the server drops the
        message). Raises SmtpError.
        """
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        try:
            self._envelope(smtp, sender, recipient, len(message), smtputf8=smtputf8)
            return self._data(smtp, message, before_end)
        except SmtpError:
            self._reset()
            raise
        except smtplib.SMTPResponseException as err:
            self._reset()
            raise _failure("message refused", err.smtp_code, err.smtp_error) from err
        except (smtplib.SMTPException, OSError) as err:
            # Lost before the server's final reply. A server takes responsibility for
            # a message only with that reply (RFC 5321 6.1), so this is a temporary
            # failure to retry.
            self.close()
            raise SmtpError(
                f"connection to {self.where} lost: {err or type(err).__name__}",
                temporary=True,
            ) from err

    def _envelope(
        self, smtp: smtplib.SMTP, sender: str, recipient: str, size: int, *, smtputf8: bool
    ) -> None:
        """MAIL FROM (with SMTPUTF8 and SIZE when they apply) and RCPT TO."""
        options: list[str] = []
        if smtputf8:
            if not smtp.has_extn("smtputf8"):
                raise SmtpError(
                    f"{self.where} does not support SMTPUTF8, needed for the address"
                    f" {recipient if not recipient.isascii() else sender}",
                    temporary=False,
                    hint="use an ASCII address, or a server with SMTPUTF8",
                )
            options += ["SMTPUTF8", "BODY=8BITMIME"]
        if smtp.has_extn("size"):
            options.append(f"SIZE={size}")
        code, reply = smtp.mail(sender, options)
        if code != 250:
            raise _failure(f"sender {sender} refused", code, reply)
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            raise _failure(f"recipient {recipient} refused", code, reply)

    def _data(
        self, smtp: smtplib.SMTP, message: bytes, before_end: Callable[[], bool]
    ) -> Reply | None:
        """DATA, the message, ``before_end()``, then the final dot and the server's reply."""
        # smtplib's data() sends the message and its end in one go; the caller
        # needs the moment in between, so DATA is spoken here.
        code, reply = smtp.docmd("DATA")
        if code != 354:
            raise _failure("message refused", code, reply)
        smtp.send(dot_stuffed(message))
        if not self._go_on(before_end):
            return None
        smtp.send(b".\r\n")
        code, reply = smtp.getreply()
        if code != 250:
            raise _failure("message refused", code, reply)
        return Reply(code=code, text=_text(reply))

    def _go_on(self, before_end: Callable[[], bool]) -> bool:
        """Ask ``before_end``; on no, or an error, drop the connection mid-message."""
        try:
            go_on = before_end()
        except BaseException:
            self._abandon()
            raise
        if not go_on:
            self._abandon()
        return go_on

    def _abandon(self) -> None:
        # Mid-message anything sent would become part of the message: no RSET and no
        # QUIT, just close. The server discards a message that never ended.
        smtp, self._smtp = self._smtp, None
        self._discard(smtp)

    def _reset(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            self._discard(smtp)
