"""A throwaway Dovecot IMAP server on 127.0.0.1 for the tests that read unsubscribe mail.

Dovecot (Debian: dovecot-imapd) runs from a configuration in a temporary folder, on a
free port, with one password for every user and Maildir folders under that folder; with
``tls=True`` it offers STARTTLS (and IMAPS) with a self-signed certificate for
127.0.0.1 that the test can choose to trust. Skipped when Dovecot is not installed,
unless ``AGGREGATOR_TEST_IMAP=required`` (as in CI) makes that a failure.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-test-password"


@dataclass(frozen=True)
class ImapServer:
    port: int  #: plain IMAP (with STARTTLS when tls)
    tls_port: int  #: IMAPS, 0 without tls
    certificate: Path | None  #: the self-signed certificate to trust, when tls


def available() -> bool:
    return Path(DOVECOT).is_file() and os.access(DOVECOT, os.X_OK)


def require() -> None:
    """Skip (or, when required, fail) the calling test without Dovecot."""
    if available():
        return
    if os.environ.get("AGGREGATOR_TEST_IMAP") == "required":
        pytest.fail("AGGREGATOR_TEST_IMAP=required but Dovecot is not installed (dovecot-imapd)")
    pytest.skip("Dovecot is not installed (Debian: dovecot-imapd)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _users() -> tuple[str, str, str]:
    """(login user, internal user, mail owner): Dovecot's own users when run as root."""
    if os.geteuid() == 0:
        return "dovenull", "dovecot", "nobody"
    me = pwd.getpwuid(os.geteuid()).pw_name
    return me, me, me


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    os.chmod(key, 0o644)  # read by Dovecot's login processes (a throwaway key)
    return cert, key


def _config(folder: Path, port: int, tls_port: int, tls: tuple[Path, Path] | None) -> str:
    login, internal, owner = _users()
    mail = folder / "mail"
    ssl = f"ssl = yes\nssl_cert = <{tls[0]}\nssl_key = <{tls[1]}\n" if tls else "ssl = no\n"
    return f"""protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
{ssl}disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login}
default_internal_user = {internal}
mail_location = maildir:{mail}/%u
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={owner} gid={pwd.getpwnam(owner).pw_gid} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
"""


def _wait_for(port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    text = log.read_text() if log.exists() else "(no log)"
    raise RuntimeError(f"Dovecot did not start on port {port}: {text}")


def start(folder: Path, *, tls: bool = False) -> ImapServer:
    """Start Dovecot with its files in ``folder``; stop it with :func:`stop`."""
    require()
    for part in ("run", "state", "mail"):
        (folder / part).mkdir(parents=True, exist_ok=True)
    (folder / "mail").chmod(0o777)
    folder.chmod(0o755)
    pair = _certificate(folder) if tls else None
    port, tls_port = _free_port(), _free_port() if tls else 0
    conf = folder / "dovecot.conf"
    conf.write_text(_config(folder, port, tls_port, pair))
    # Not captured: the daemon it leaves behind would hold a pipe open forever.
    errors = folder / "start.err"
    with errors.open("wb") as err:
        started = subprocess.run([DOVECOT, "-c", str(conf)], stdout=err, stderr=err, check=False)
    if started.returncode != 0:
        raise RuntimeError(f"Dovecot did not start: {errors.read_text()}")
    try:
        _wait_for(port, folder / "dovecot.log")
    except RuntimeError:
        stop(folder)
        raise
    return ImapServer(port, tls_port, pair[0] if pair else None)


def stop(folder: Path) -> None:
    subprocess.run(
        [DOVECOT, "-c", str(folder / "dovecot.conf"), "stop"],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
