"""A real, throwaway PostgreSQL server for the tests.

``start`` runs ``initdb`` into a temporary folder, then ``pg_ctl start`` on a free
port of 127.0.0.1 (its unix socket in that folder too, never in /var/run), with
durability off: a test cluster is thrown away, so fsync buys nothing. ``stop``
stops it and removes the folder.

PostgreSQL refuses to run as root. Run as root (as CI does), the cluster belongs to
the ``postgres`` system user the distribution's package creates, and its programs
are started through ``runuser``; as anyone else, as that user.

:func:`unavailable` says, without starting anything, why the PostgreSQL half of the
suite cannot run here (no binaries, root without a ``postgres`` user, or turned off
by ``AGGREGATOR_TEST_POSTGRES=off``); None when it can.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: The role the tests connect as (the cluster's superuser, trusted on 127.0.0.1).
USER = "aggregator"
#: Set to "off" to skip the PostgreSQL half; "required" makes its absence an error.
SWITCH = "AGGREGATOR_TEST_POSTGRES"
#: A folder holding initdb and pg_ctl, when they are on neither PATH nor Debian's place.
BIN_VARIABLE = "AGGREGATOR_PG_BIN"


def bin_dir() -> Path | None:
    """The folder of initdb and pg_ctl: $AGGREGATOR_PG_BIN, PATH, then the newest
    /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH)."""
    given = os.environ.get(BIN_VARIABLE)
    if given:
        return Path(given) if (Path(given) / "pg_ctl").exists() else None
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "pg_ctl").exists()),
        key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0),
    )
    return versions[-1] if versions else None


def _system_user() -> pwd.struct_passwd | None:
    """The user the cluster runs as when we are root (``postgres``), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


def unavailable() -> str | None:
    """Why no test server can be started here, or None when one can."""
    if os.environ.get(SWITCH, "").lower() == "off":
        return f"{SWITCH}=off"
    programs = bin_dir()
    if programs is None:
        return (
            "PostgreSQL is not installed (no initdb/pg_ctl on PATH or under"
            f" /usr/lib/postgresql; set {BIN_VARIABLE}, or apt-get install postgresql)"
        )
    if os.geteuid() == 0 and (_system_user() is None or shutil.which("runuser") is None):
        return "running as root, and PostgreSQL refuses root: no 'postgres' user to run it as"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running cluster in ``folder``, reachable at 127.0.0.1:``port`` as :data:`USER`."""

    programs: Path
    folder: Path
    port: int
    version: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def admin(self, *statements: str) -> None:
        """Run ``statements`` outside a transaction (CREATE/DROP DATABASE) as the superuser."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]

    def create_database(self, name: str, *, template: str = "template0") -> str:
        """A new, empty database (a copy of ``template``); its URL."""
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        _run(self.programs / "pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def _run(*command: str | Path) -> str:
    """Run a PostgreSQL program, as ``postgres`` when we are root; its output."""
    argv = [str(part) for part in command]
    user = _system_user()
    if user is not None:
        argv = ["runuser", "-u", user.pw_name, "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(programs: Path) -> None:
    """Stop and remove the clusters of test processes that died without stopping
    theirs (a pytest killed by a timeout runs no finalizer)."""
    for folder in Path(tempfile.gettempdir()).glob("aggregator-pg-*"):
        try:
            owner = int((folder / "owner").read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        with contextlib.suppress(RuntimeError):  # not running
            _run(programs / "pg_ctl", "-D", str(folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def start() -> PostgresServer:
    """initdb and start a cluster in a new temporary folder (see the module docstring)."""
    reason = unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    programs = bin_dir()
    assert programs is not None
    sweep(programs)
    folder = Path(tempfile.mkdtemp(prefix="aggregator-pg-"))
    (folder / "owner").write_text(str(os.getpid()))
    user = _system_user()
    try:
        if user is not None:
            os.chown(folder, user.pw_uid, user.pw_gid)
        folder.chmod(0o700)
        data = folder / "data"
        _run(
            programs / "initdb",
            "-D", str(data),
            "-U", USER,
            "-A", "trust",
            "-E", "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )  # fmt: skip
        port = free_port()
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        _run(
            programs / "pg_ctl",
            "-D", str(data),
            "-o", options,
            "-l", str(folder / "server.log"),
            "-w",
            "-t", "60",
            "start",
        )  # fmt: skip
        version = _run(programs / "postgres", "--version").strip()
        return PostgresServer(programs, folder, port, version)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
