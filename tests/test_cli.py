from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import ROOT

from aggregator._app.cli import main

COMMANDS = ["run", "fetch", "publish", "digest", "status", "send"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    doc = main.commands[command].help  # type: ignore[attr-defined]
    assert doc and doc.split("\n")[0] in result.output
    for param in main.commands[command].params:  # type: ignore[attr-defined]
        if param.name != "help":
            assert getattr(param, "help", None), f"{command} --{param.name} has no help"


def test_main_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


def test_run_prints_a_summary_and_exits_0(tmp_path: Path) -> None:
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = runner.invoke(main, ["run", "--date", "2026-11-23"])
        again = runner.invoke(main, ["run", "--date", "2026-11-23"])
        status = runner.invoke(main, ["status"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert "Sources: 6 read, 6 ok, 0 failed" in result.output
    assert "Entries: 42 new, 0 updated, 0 unchanged, 7 merged" in result.output
    assert "Digests: 2026-01-14, 2026-11-23" in result.output
    assert again.exit_code == 0
    assert "Entries: 0 new, 0 updated, 49 unchanged, 0 merged" in again.output
    assert "5 published, 0 changed" in again.output
    assert status.exit_code == 0, status.output
    assert "arxiv-daily-2026-01-14" in status.output
    assert "cs.AI (19)" in status.output


def test_a_failed_source_exits_1_and_is_named(
    tmp_path: Path, write_config: Callable[[str], Path]
) -> None:
    path = write_config(
        '[[sources]]\nname = "ok"\nkind = "markdown"\npath = "{seeds}/001_42b39434066c0679.txt"'
        '\n[[sources]]\nname = "gone"\npath = "gone.xml"\n'
    )
    result = CliRunner().invoke(main, ["--config", str(path), "run"])
    assert result.exit_code == 1
    assert "failed: gone" in result.output and "file not found" in result.output
    status = CliRunner().invoke(main, ["--config", str(path), "status"])
    assert status.exit_code == 1
    assert "file not found" in status.output


def test_a_bad_config_exits_2_naming_file_and_key(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config("[publish]\nbase_url = 5\n")
    result = CliRunner().invoke(main, ["--config", str(path), "run"])
    assert result.exit_code == 2
    assert f"{path}: publish.base_url: expected str" in result.output


@pytest.mark.sqlite_only(reason="a SQLite file that is not a database")
def test_an_unusable_database_exits_3(tmp_path: Path, write_config: Callable[[str], Path]) -> None:
    (tmp_path / "bad.db").write_bytes(b"not a database" * 200)
    path = write_config('[storage]\ndatabase = "bad.db"\n')
    result = CliRunner().invoke(main, ["--config", str(path), "run"])
    assert result.exit_code == 3
    assert "bad.db" in result.output


def test_digest_print_text(tmp_path: Path) -> None:
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        runner.invoke(main, ["run", "--date", "2026-11-23"])
        result = runner.invoke(main, ["digest", "--date", "2026-01-14", "--print", "text"])
        empty = runner.invoke(main, ["digest", "--date", "2020-01-01"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0
    assert result.output.startswith("Daily digest - 2026-01-14")
    assert "No entries for 2020-01-01" in empty.output


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += leaf_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("command", leaf_commands(main), ids=" ".join)
def test_verbose_is_accepted_after_every_command(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "-v", "--help"])
    assert result.exit_code == 0, result.output
    assert "-v, --verbose" in result.output


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command in a process of its own (logging is configured once per process)."""
    return subprocess.run(
        [sys.executable, "-c", "from aggregator._app.cli import main; main()", *args],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_logs_each_stage_wherever_it_is_given(tmp_path: Path, where: str) -> None:
    run = ["run", "--date", "2026-11-23"]
    done = cli(tmp_path, *(["-v", *run] if where == "before" else [*run, "-v"]))
    assert done.returncode == 0, done.stderr
    assert "INFO aggregator._update.ingest: arxiv-daily-2026-01-14:" in done.stderr
    quiet = cli(tmp_path, "run", "--date", "2026-11-23", "--quiet")
    assert quiet.returncode == 0 and "INFO" not in quiet.stderr and not quiet.stdout


def test_a_command_reads_and_validates_the_config_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aggregator._app.cli import app

    calls: list[object] = []
    real = app.load_config

    def counting(path: Path | None, **kwargs: object) -> object:
        calls.append(path)
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(app, "load_config", counting)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", "--no-send", "-q"])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1
