"""``aggregator dupes``: list, explain, split, reindex through the real CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_duplicates import CLUTTERED, STORY, Item, atom

from aggregator._app.cli import main
from aggregator._storage.sqlite import Store

SUBCOMMANDS = ["list", "explain", "split", "reindex"]


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "original.atom").write_text(
        atom(
            [
                Item(
                    "Grid operator approves battery project",
                    STORY,
                    "o-1",
                    link="https://news.example.org/battery",
                )
            ]
        ),
        encoding="utf-8",
    )
    (tmp_path / "farm.atom").write_text(
        atom(
            [
                Item(
                    "Battery project approved - TrendWire",
                    CLUTTERED,
                    "f-1",
                    link="https://farm.example.net/1",
                )
            ]
        ),
        encoding="utf-8",
    )
    (tmp_path / "aggregator.toml").write_text(
        '[[sources]]\nname = "original"\npath = "original.atom"\n'
        '[[sources]]\nname = "farm"\npath = "farm.atom"\n',
        encoding="utf-8",
    )
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_dupes_command_has_help(command: str) -> None:
    group = main.commands["dupes"]  # type: ignore[attr-defined]
    result = CliRunner().invoke(main, ["dupes", command, "--help"])
    assert result.exit_code == 0
    doc = group.commands[command].help
    assert doc and doc.split("\n")[0] in result.output
    for param in group.commands[command].params:
        if param.name != "help" and param.param_type_name == "option":
            assert getattr(param, "help", None), f"dupes {command} --{param.name} has no help"
    assert "dupes" in CliRunner().invoke(main, ["--help"]).output


@pytest.mark.sqlite_only(
    reason="no database yet: a SQLite file not made (PostgreSQL's is always there)"
)
def test_list_explain_split(workdir: Path) -> None:
    runner = CliRunner()
    assert "No database yet" in runner.invoke(main, ["dupes", "list"]).output
    for command in (["explain", "1"], ["split", "1"], ["reindex"]):
        result = runner.invoke(main, ["dupes", *command])
        assert result.exit_code == 2 and "no database yet" in result.output
    assert not (workdir / "aggregator.db").exists()
    result = runner.invoke(main, ["run", "--date", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert "1 new" in result.output and "1 merged" in result.output

    listed = runner.invoke(main, ["dupes", "list"])
    assert listed.exit_code == 0, listed.output
    assert "Duplicates (1 linked)" in listed.output
    assert "Battery project approved - TrendWire" in listed.output
    assert "near" in listed.output

    explained = runner.invoke(main, ["dupes", "explain", "1"])
    assert explained.exit_code == 0, explained.output
    assert "near-duplicate text" in explained.output
    assert "url:https://farm.example.net/1" in explained.output
    assert "sources: original" in explained.output
    assert "threshold 0.50" in explained.output
    by_link = runner.invoke(main, ["dupes", "explain", "https://farm.example.net/1"])
    assert by_link.exit_code == 0 and "Link #1" in by_link.output

    missing = runner.invoke(main, ["dupes", "explain", "99"])
    assert missing.exit_code == 2
    assert "no duplicate link '99'" in missing.output
    assert "dupes list" in missing.output

    split = runner.invoke(main, ["dupes", "split", "1"])
    assert split.exit_code == 0, split.output
    assert "is no longer a duplicate" in split.output
    feed = (workdir / "public" / "feeds" / "all.atom").read_text(encoding="utf-8")
    assert feed.count("<entry>") == 2
    assert "No duplicates linked." in runner.invoke(main, ["dupes", "list"]).output
    again = runner.invoke(main, ["run", "--date", "2026-11-23"])
    assert again.exit_code == 0
    assert "No duplicates linked." in runner.invoke(main, ["dupes", "list"]).output
    assert runner.invoke(main, ["dupes", "split", "1"]).exit_code == 2


@pytest.mark.sqlite_only(
    reason="reads or writes the database with SQLite's own SQL (store.db, sqlite3)"
)
def test_reindex(workdir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["run", "--date", "2026-11-23"]).exit_code == 0
    with Store(workdir / "aggregator.db") as store, store.transaction():
        store.db.execute("DELETE FROM entry_signatures")
    result = runner.invoke(main, ["dupes", "reindex", "--all"])
    assert result.exit_code == 0, result.output
    assert "Indexed 2 entries." in result.output
    assert "Indexed 0 entries." in runner.invoke(main, ["dupes", "reindex", "--all"]).output


def test_hostile_titles_are_printed_as_text_on_one_line(workdir: Path) -> None:
    # The republished copy's title carries terminal escapes and rich markup ("[/]").
    hostile = Path(__file__).parent / "data" / "hostile" / "operator-dupes-farm.atom"
    (workdir / "farm.atom").write_bytes(hostile.read_bytes())
    runner = CliRunner()
    assert runner.invoke(main, ["run", "--date", "2026-11-23"]).exit_code == 0
    for command in (["list"], ["explain", "1"]):
        result = runner.invoke(main, ["dupes", *command])
        assert result.exit_code == 0, result.output
        assert "Battery project approved" in result.output and "[/]" in result.output
        assert "\x1b" not in result.output and "\x07" not in result.output, repr(result.output)
