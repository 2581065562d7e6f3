"""Bad conditions an unattended run meets: each a clear message, nothing corrupted.

(A bad cron expression or time zone: test_schedule.py; a lock left by a killed
process: test_lock.py; a kill -9 at any moment: test_crash.py.)
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SEEDS

from aggregator._app.cli import main
from aggregator._output import publish

DAILY = next(SEEDS.glob("002_*.txt"))
SOURCE = f'[[sources]]\nname = "daily"\nkind = "markdown-digest"\npath = "{DAILY}"\n'


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a config, after one successful run."""
    (tmp_path / "aggregator.toml").write_text("[storage]\nlock_timeout = 1\n" + SOURCE)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", "--date", "2026-11-23"])
    assert result.exit_code == 0, result.output
    return tmp_path


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def checkpoint(database: Path) -> None:
    """Fold the WAL into the database file so that its bytes say everything."""
    import sqlite3

    conn = sqlite3.connect(database)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


@pytest.fixture
def read_only(site: Path) -> Iterator[Path]:
    """The database made read-only, even for root (chattr +i), restored afterwards."""
    database = site / "aggregator.db"
    checkpoint(database)
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(database)]).returncode != 0:
            pytest.skip("running as root without chattr +i: cannot make a file read-only")
        try:
            yield database
        finally:
            subprocess.run([chattr, "-i", str(database)], check=True)
    else:
        database.chmod(0o444)
        try:
            yield database
        finally:
            database.chmod(0o644)


@pytest.mark.sqlite_only(reason="a read-only SQLite file")
def test_a_read_only_database_is_a_clear_error_and_nothing_changes(
    site: Path, read_only: Path
) -> None:
    before = snapshot(site / "public")
    data = read_only.read_bytes()
    result = CliRunner().invoke(main, ["run", "--date", "2026-11-24"])
    assert result.exit_code == 3
    assert f"database {read_only}" in result.output
    assert "read-only for this user" in result.output
    assert read_only.read_bytes() == data
    assert snapshot(site / "public") == before


@pytest.mark.sqlite_only(reason="a SQLite file locked by another program")
def test_a_database_locked_by_another_program_times_out_with_a_clear_error(site: Path) -> None:
    holder = (
        "import sqlite3, sys, time\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", holder, str(site / "aggregator.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as other:
        assert other.stdout is not None and other.stdin is not None
        assert other.stdout.readline().strip() == "locked"
        result = CliRunner().invoke(main, ["run", "--date", "2026-11-24"])
        other.stdin.close()
        other.wait(timeout=30)
    assert result.exit_code == 3
    assert "database is locked" in result.output
    assert "another program kept the database locked for more than 1 s" in result.output
    again = CliRunner().invoke(main, ["run", "--date", "2026-11-24"])
    assert again.exit_code == 0, again.output


def test_a_full_disk_while_publishing_keeps_every_published_file_whole(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulated: os.replace fails with ENOSPC for one feed, as a full disk would make
    # the write or the rename fail. (A real tiny tmpfs needs root and mount in CI.)
    before = snapshot(site / "public")
    real_replace = os.replace

    def full_disk(src: str, dst: str | Path) -> None:
        if str(dst).endswith("cs.CL.atom"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(src, dst)

    monkeypatch.setattr(publish.os, "replace", full_disk)
    (site / "aggregator.toml").write_text(
        '[storage]\nlock_timeout = 1\n[publish]\ntitle = "Renamed"\n' + SOURCE
    )
    result = CliRunner().invoke(main, ["run", "--date", "2026-11-23"])
    assert result.exit_code == 3
    assert "cs.CL.atom: No space left on device" in result.output
    assert "disk is not full" in result.output
    after = snapshot(site / "public")
    assert after["feeds/cs.CL.atom"] == before["feeds/cs.CL.atom"]  # the old one, whole
    assert not list((site / "public").rglob("*.tmp"))
    monkeypatch.setattr(publish.os, "replace", real_replace)
    fixed = CliRunner().invoke(main, ["run", "--date", "2026-11-23"])
    assert fixed.exit_code == 0, fixed.output
    assert "Renamed: cs.CL" in (site / "public" / "feeds" / "cs.CL.atom").read_text()


def test_quiet_prints_nothing_when_all_is_well_and_problems_when_not(
    site: Path,
) -> None:
    quiet = CliRunner().invoke(main, ["run", "-q", "--date", "2026-11-23"])
    assert quiet.exit_code == 0
    assert quiet.output == ""
    (site / "aggregator.toml").write_text(
        "[storage]\nlock_timeout = 1\n" + SOURCE + '[[sources]]\nname = "gone"\npath = "gone.xml"\n'
    )
    failing = CliRunner().invoke(main, ["run", "--quiet", "--date", "2026-11-23"])
    assert failing.exit_code == 1
    assert failing.output.startswith("failed: gone")
    assert "Sources:" not in failing.output
