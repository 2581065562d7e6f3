"""A typo in ``[storage] database`` never silently starts a new, empty database
(issue 12, item 8).

A database whose folder does not exist is a configuration error (exit 2, naming the
key and the folder) unless ``[storage] create = true``; a run that creates the file
says so in one line, even with --quiet, so a typo in the file name shows too; status
names the database it read and never creates one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import SEEDS
from smtpserver import email_config

from aggregator._app.cli import main

pytestmark = pytest.mark.sqlite_only(
    reason="the SQLite file's path: folders, creation, announcements"
)

SOURCES = f"""
[[sources]]
name = "daily"
kind = "markdown-digest"
path = "{SEEDS}/002_d401467fe4d4ae84.txt"
"""


def invoke(folder: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(folder / "aggregator.toml"), *args])


def configure(folder: Path, storage: str) -> Path:
    path = folder / "aggregator.toml"
    path.write_text(f"[storage]\n{storage}\n{SOURCES}", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args", [["run"], ["fetch"], ["publish"], ["digest"], ["run", "--quiet"]], ids=" ".join
)
def test_a_database_folder_that_does_not_exist_is_a_config_error(
    tmp_path: Path, args: list[str]
) -> None:
    config = configure(tmp_path, 'database = "dta/aggregator.db"  # a typo of data/')
    result = invoke(tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        f"error: {config}: storage.database: the database's folder {tmp_path / 'dta'} does not"
        " exist (fix the path, create the folder, or set [storage] create = true to have it"
        " created)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aggregator.toml"]


def test_a_file_where_the_folder_must_be(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder")
    configure(tmp_path, 'database = "data/aggregator.db"')
    result = invoke(tmp_path, "run")
    assert result.exit_code == 2
    assert f"the database's folder {tmp_path / 'data'} is not a folder" in result.stderr


def test_create_true_makes_the_folder_and_says_so_once(tmp_path: Path) -> None:
    configure(tmp_path, 'database = "var/lib/aggregator.db"\ncreate = true')
    database = tmp_path / "var" / "lib" / "aggregator.db"
    first = invoke(tmp_path, "run", "--quiet")
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [f"Created a new database at {database}"]
    assert database.is_file()
    again = invoke(tmp_path, "run")
    assert again.exit_code == 0
    assert "Created a new database" not in again.output


def test_a_new_database_in_an_existing_folder_is_announced(tmp_path: Path) -> None:
    configure(tmp_path, 'database = "aggregator.db"')
    assert invoke(tmp_path, "run").exit_code == 0
    configure(tmp_path, 'database = "agregator.db"')  # the file name mistyped later
    result = invoke(tmp_path, "run", "--quiet")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"Created a new database at {tmp_path / 'agregator.db'}"]


def test_status_names_the_database_and_never_creates_one(tmp_path: Path) -> None:
    configure(tmp_path, 'database = "aggregator.db"')
    missing = invoke(tmp_path, "status")
    assert missing.exit_code == 0
    assert f"No database yet at {tmp_path / 'aggregator.db'}" in missing.stdout
    assert not (tmp_path / "aggregator.db").exists()
    assert invoke(tmp_path, "run").exit_code == 0
    status = invoke(tmp_path, "status")
    assert status.exit_code == 0, status.output
    # First, whether or not the terminal's width put the path on a line of its own.
    first = " ".join(" ".join(status.stdout.splitlines()[:2]).split()[:2])
    assert first == f"Database: {tmp_path / 'aggregator.db'}"
    json = invoke(tmp_path, "status", "--json")
    assert json.stdout.lstrip().startswith("[")  # JSON only, no line before it


def test_the_embedded_default_runs_in_an_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = CliRunner().invoke(main, ["run", "--date", "2026-11-23"])
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[0] == f"Created a new database at {tmp_path / 'aggregator.db'}"
    assert (tmp_path / "public" / "feeds" / "all.atom").stat().st_size > 0
    again = CliRunner().invoke(main, ["run", "--date", "2026-11-23"])
    assert again.exit_code == 0
    assert "Created a new database" not in again.output


def test_create_must_be_a_boolean(tmp_path: Path) -> None:
    config = configure(tmp_path, 'database = "aggregator.db"\ncreate = "yes"')
    result = invoke(tmp_path, "run")
    assert result.exit_code == 2
    assert f"{config}: storage.create" in result.stderr


def test_send_without_a_database_creates_none(tmp_path: Path) -> None:
    config = tmp_path / "aggregator.toml"
    config.write_text(
        email_config(str(SEEDS), 9).replace('"db.sqlite"', '"dta/db.sqlite"'), encoding="utf-8"
    )
    result = invoke(tmp_path, "send", "--dry-run")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        f"error: no database yet at {tmp_path / 'dta' / 'db.sqlite'} (run `aggregator run`"
        " first, or check [storage] database)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aggregator.toml"]
