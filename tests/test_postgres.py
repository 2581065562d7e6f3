"""PostgreSQL storage where it differs from SQLite: config, connection, run lock, claims.

The shared behaviour is tested on both backends by the parametrised storage and run
tests (the ``storage`` fixture); these are the PostgreSQL-only parts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from aggregator._app.cli import EXIT_LOCKED, main
from aggregator._storage import open_store, run_lock
from aggregator._storage.postgres.connect import decode_text, encode_text
from aggregator.config.settings import StorageSettings, load_config
from aggregator.errors import ConfigError, LockedError, StorageError

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


def settings_for(tmp_path: Path, text: str) -> StorageSettings:
    path = tmp_path / "aggregator.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path).storage


def test_url_selects_postgresql_and_database_with_it_is_an_error(tmp_path: Path) -> None:
    storage = settings_for(
        tmp_path, '[storage]\nurl = "postgresql://agg@db.example.org:5432/news"\n'
    )
    assert storage.url == "postgresql://agg@db.example.org:5432/news"
    assert storage.describe() == storage.url
    with pytest.raises(ConfigError, match=r"storage\.url.*not both"):
        settings_for(tmp_path, '[storage]\ndatabase = "a.db"\nurl = "postgresql://agg@h/news"\n')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('url = "mysql://agg@h/news"', "not a postgresql:// URL"),
        ('url = "postgresql://agg:secret@h/news"', "holds a password"),
        ('url = "postgresql://agg@h"', "names no database"),
        ('password_env = "PW"', "only a PostgreSQL url"),
        ('url = "postgresql://agg@h/n"\npassword_env = "not a name"', "not an environment"),
    ],
)
def test_bad_storage_keys_are_config_errors_naming_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        settings_for(tmp_path, f"[storage]\n{text}\n")
    assert "storage." in str(caught.value)


def test_an_unset_password_variable_is_a_config_error(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGGREGATOR_TEST_PW", raising=False)
    storage = StorageSettings(
        database=tmp_path / "x.db", url=pg_url, password_env="AGGREGATOR_TEST_PW"
    )
    with pytest.raises(ConfigError, match="AGGREGATOR_TEST_PW is not set"):
        open_store(storage)


def test_a_missing_database_is_a_clear_storage_error(tmp_path: Path, pg_url: str) -> None:
    storage = StorageSettings(database=tmp_path / "x.db", url=pg_url + "_nope")
    with pytest.raises(StorageError, match="does not exist") as caught:
        open_store(storage)
    assert caught.value.hint is not None and "createdb" in caught.value.hint


def test_nul_and_the_escape_character_round_trip() -> None:
    for text in ["", "plain", "a\x00b", "\uffff", "\uffff0", "\x00\uffff\x00", "ü\x00文"]:
        assert decode_text(encode_text(text)) == text
    assert "\x00" not in encode_text("a\x00b")
    assert encode_text("a\x00b") != encode_text("a\uffff0b")


def test_the_run_lock_waits_then_names_its_holder(tmp_path: Path, pg_url: str) -> None:
    storage = StorageSettings(database=tmp_path / "x.db", url=pg_url)
    with run_lock(storage, timeout=0, purpose="first holder"):
        with (
            pytest.raises(LockedError, match="another aggregator is working on") as caught,
            run_lock(storage, timeout=0.3, purpose="second"),
        ):
            pass
        assert caught.value.holder is not None
        assert f"pid {os.getpid()}" in caught.value.holder
        assert "first holder" in caught.value.holder
    with run_lock(storage, timeout=0, purpose="after"):  # released
        pass


HOLD = """
import sys, time
from pathlib import Path
from aggregator._storage import run_lock
from aggregator.config.settings import StorageSettings
storage = StorageSettings(database=Path("x.db"), url=sys.argv[1])
with run_lock(storage, timeout=0, purpose="test holder"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_holder_killed_with_sigkill_leaves_no_lock_and_a_waiter_exits_4(
    tmp_path: Path, pg_url: str
) -> None:
    (tmp_path / "aggregator.toml").write_text(
        f'[storage]\nurl = "{pg_url}"\nlock_timeout = 0.5\n', encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, pg_url], env=env, stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "held"
            result = CliRunner().invoke(
                main, ["--config", str(tmp_path / "aggregator.toml"), "publish"]
            )
            assert result.exit_code == EXIT_LOCKED, result.output
            assert "test holder" in result.output
        finally:
            holder.kill()
            holder.wait()
    storage = StorageSettings(database=tmp_path / "x.db", url=pg_url, lock_timeout=10)
    with run_lock(storage, timeout=10, purpose="after the kill"):
        pass


def test_of_two_stores_claiming_one_delivery_exactly_one_gets_it(
    tmp_path: Path, pg_url: str
) -> None:
    storage = StorageSettings(database=tmp_path / "x.db", url=pg_url)
    day = date(2026, 11, 23)
    with open_store(storage) as one, open_store(storage) as other:
        one.plan_day(day, due=[("ada@example.org", 3, "<m@x>")], empty=[], now=NOW)
        with one.transaction():
            # ``one`` holds the row's lock while ``other`` would wait: claim in turn.
            assert one.claim_delivery(day, "ada@example.org", from_states=("pending",), now=NOW)
        assert not other.claim_delivery(day, "ada@example.org", from_states=("pending",), now=NOW)
        assert other.deliveries_for_day(day)["ada@example.org"].state == "sending"
        assert other.deliveries_for_day(day)["ada@example.org"].attempts == 1


def test_the_cli_runs_on_postgresql_and_status_names_the_url(tmp_path: Path, pg_url: str) -> None:
    config = tmp_path / "aggregator.toml"
    config.write_text(f'[storage]\nurl = "{pg_url}"\n', encoding="utf-8")
    runner = CliRunner()
    first = runner.invoke(main, ["--config", str(config), "run", "--no-send"])
    assert first.exit_code in (0, 1), first.output
    assert f"Created a new database at {pg_url}" in first.output
    assert (tmp_path / "public" / "feeds" / "all.atom").exists()
    assert not (tmp_path / "aggregator.db").exists()
    status = runner.invoke(main, ["--config", str(config), "status"])
    assert f"Database: {pg_url}" in status.output
    again = runner.invoke(main, ["--config", str(config), "run", "--no-send"])
    assert "Created a new database" not in again.output


def test_migrate_copies_a_sqlite_database_and_a_run_then_finds_nothing_new(
    tmp_path: Path, pg_url: str
) -> None:
    from dataclasses import replace

    from storekit import sql
    from test_run import run_default, table_counts

    from aggregator._update.decide import Outcome

    settings, first = run_default(tmp_path, lambda: NOW)
    before = table_counts(settings.storage)
    published = {p: p.read_bytes() for p in settings.publish.output_dir.rglob("*") if p.is_file()}
    runner = CliRunner()
    database = f"sqlite:{settings.storage.database}"
    assert "--from sqlite:PATH" in runner.invoke(main, ["migrate", "--help"]).output
    result = runner.invoke(main, ["migrate", "--from", database, "--to", pg_url])
    assert result.exit_code == 0, result.output
    assert f"({before['entries']} entries)" in result.output
    postgres = replace(settings.storage, url=pg_url)
    after = table_counts(postgres)
    # SQLite's generation is a one-row table, PostgreSQL's a sequence.
    assert after.pop("output_generation") == 0 and before.pop("output_generation") == 1
    assert after == before
    with open_store(postgres) as store:
        (runs,) = sql(store, "SELECT count(*) FROM runs")[0]
        assert runs == 1
    # A second copy into the now full database is refused, and changes nothing.
    again = runner.invoke(main, ["migrate", "--from", database, "--to", pg_url])
    assert again.exit_code != 0 and "already holds entries" in again.output
    # The next run, on PostgreSQL, finds every entry known and the outputs current.
    second = replace(settings, storage=postgres)
    from aggregator.core import run

    rerun = run(second, clock=lambda: NOW, run_date=date(2026, 11, 23))
    assert rerun.count(Outcome.NEW) == 0 and first.count(Outcome.NEW) > 0
    assert {
        p: p.read_bytes() for p in settings.publish.output_dir.rglob("*") if p.is_file()
    } == published
