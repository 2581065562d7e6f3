"""The SMTP connection: the only code that speaks SMTP (smtplib).

Owns connecting (plain, STARTTLS or implicit TLS, certificates verified), logging in,
and one message transaction at a time (MAIL, RCPT, DATA) so that the caller can
record "sending" in the delivery log just before DATA. Every smtplib and socket
error becomes an :class:`~aggregator.errors.SmtpError` saying whether it is
temporary and whether the whole connection is lost. Knows nothing of digests.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .errors import SmtpError
from .mailconfig import EmailSettings


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
        before_data: Callable[[], bool],
    ) -> Reply | None:
        """Hand ``message`` over; None if ``before_data()`` said not to go on."""
        ...

    def close(self) -> None: ...


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


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
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout)
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
        except SmtpError:
            self._discard(smtp)
            raise
        except smtplib.SMTPAuthenticationError as err:
            self._discard(smtp)
            raise SmtpError(
                f"{self.where} refused the login of {s.username!r}: {err.smtp_code}"
                f" {_text(err.smtp_error)}",
                code=err.smtp_code,
                temporary=False,
                session=True,
                hint="check [email] username and the password in the variable named by"
                " [email] password_env",
            ) from err
        except smtplib.SMTPNotSupportedError as err:
            self._discard(smtp)
            raise SmtpError(
                f"{self.where}: {err}",
                temporary=False,
                session=True,
                hint="the server offers no login on this connection: check [email] security"
                " and smtp_port, or remove username",
            ) from err
        except ssl.SSLError as err:
            self._discard(smtp)
            raise SmtpError(
                f"TLS with {self.where} failed: {err}",
                temporary=False,
                session=True,
                hint="check [email] security and smtp_port (465 is implicit tls, 587"
                " starttls) and that the server's certificate is valid for smtp_host",
            ) from err
        except smtplib.SMTPResponseException as err:
            self._discard(smtp)
            raise _failure(
                f"{self.where} refused the connection", err.smtp_code, err.smtp_error, session=True
            ) from err
        except (smtplib.SMTPException, OSError) as err:
            self._discard(smtp)
            raise SmtpError(
                f"cannot connect to {self.where}: {err or type(err).__name__}",
                temporary=True,
                session=True,
                hint="check the server is running and [email] smtp_host and smtp_port",
            ) from err
        return smtp

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
        before_data: Callable[[], bool],
    ) -> Reply | None:
        """MAIL, RCPT, ``before_data()``, DATA. Raises SmtpError; returns the final reply."""
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        try:
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
                options.append(f"SIZE={len(message)}")
            code, reply = smtp.mail(sender, options)
            if code != 250:
                raise _failure(f"sender {sender} refused", code, reply)
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise _failure(f"recipient {recipient} refused", code, reply)
            if not before_data():
                smtp.rset()
                return None
            code, reply = smtp.data(message)
            if code != 250:
                raise _failure("message refused", code, reply)
            return Reply(code=code, text=_text(reply))
        except SmtpError:
            self._reset()
            raise
        except smtplib.SMTPResponseException as err:  # SMTPDataError: DATA itself refused
            self._reset()
            raise _failure("message refused", err.smtp_code, err.smtp_error) from err
        except (smtplib.SMTPException, OSError) as err:
            # Lost before the server's final reply: it has not taken the message
            # (RFC 5321 4.1.1.4), so it is a temporary failure to retry.
            self.close()
            raise SmtpError(
                f"connection to {self.where} lost: {err or type(err).__name__}",
                temporary=True,
            ) from err

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
