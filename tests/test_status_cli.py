"""``aggregator status`` as the operator reads it: 80 columns, local times, reasons,
plurals, and nothing from a feed or the database able to forge a line or drive the
terminal. The real CLI over real runs (a local HTTP server, real SQLite files)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from conftest import DATA, SEEDS
from pytest_httpserver import HTTPServer

from aggregator._app.cli import main
from aggregator._storage.sqlite import Store

HOSTILE = DATA / "hostile"
LONG_NAME = "a-source-whose-name-is-longer-than-any-column-leaves-room-for"
#: A healthy source: the sample article.
PAPERS = (
    f'[[sources]]\nname = "papers"\nkind = "markdown"\npath = "{SEEDS}/001_42b39434066c0679.txt"\n'
)
BOX = "│┃┏┓┗┛┣┫┳┻╋━─┡┩╇└┘┬┴┼├┤"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text('[storage]\ndatabase = "agg.db"\n' + text, encoding="utf-8")
    return path


def invoke(config: Path, *args: str, columns: int = 80) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], env={"COLUMNS": str(columns)})


@pytest.fixture
def troubled(tmp_path: Path, httpserver: HTTPServer) -> Path:
    """A site with a healthy source, a long-named missing file and a failing server."""
    httpserver.expect_request("/down.rss").respond_with_data("down for maintenance", status=503)
    config = write(
        tmp_path,
        PAPERS
        + f'[[sources]]\nname = "{LONG_NAME}"\npath = "feeds/missing-because-it-was-moved.xml"\n'
        f'[[sources]]\nname = "down"\nurl = "{httpserver.url_for("/down.rss")}"\n',
    )
    assert invoke(config, "run").exit_code == 1
    return config


def sources_of(config: Path) -> list[dict[str, object]]:
    result = invoke(config, "status", "--json")
    return list(json.loads(result.output))


def test_status_reads_at_80_columns_with_no_word_cut(troubled: Path) -> None:
    result = invoke(troubled, "status", columns=80)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    sources = sources_of(troubled)
    notes = {str(source["name"]): str(source["note"]) for source in sources}
    assert notes[LONG_NAME].startswith("file not found:") and "next attempt" in notes["down"]
    whole = {*notes, *(token for note in notes.values() for token in note.split()), "Notes:"}
    whole |= {f"({source['flag']}){end}" for source in sources for end in ("", ",")}
    # The database's path is one word however long; its label may stand alone before it.
    whole |= {"Database:", str(troubled.parent / "agg.db")}
    whole |= {"Config:", str(troubled), "(from", "--config)"}
    for line in lines:
        tokens = line.strip(BOX + " ").split()
        # A line of one word is a whole name or a whole word of a note, never a piece.
        assert len(tokens) != 1 or tokens[0] in whole, line
        assert len(line) <= 80 or len(tokens) == 1, line
    joined = " ".join(" ".join(lines).split())
    for name, note in notes.items():
        assert " ".join(note.split()) in joined, name
        assert any(name in line.split() for line in lines), name


def test_a_wide_terminal_shows_one_line_per_source(troubled: Path) -> None:
    result = invoke(troubled, "status", columns=200)
    for name, state in (("papers", "ok"), (LONG_NAME, "failing"), ("down", "failing")):
        assert any(line.split()[:2] == [name, state] for line in result.output.splitlines() if line)


def test_times_are_local_to_the_minute_and_say_how_long_ago(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        '[digest]\ntimezone = "Asia/Tokyo"\n' + PAPERS,
    )
    assert invoke(config, "run").exit_code == 0
    result = invoke(config, "status")
    assert result.exit_code == 0, result.output
    with Store(tmp_path / "agg.db") as store:
        (row,) = store.source_health()
        started = store.last_runs()[0]["started_at"]
    assert row.last_success is not None
    local = datetime.fromisoformat(row.last_success).astimezone(ZoneInfo("Asia/Tokyo"))
    assert re.search(rf"{local:%Y-%m-%d %H:%M} \((just now|\d+ min ago)\)", result.output)
    run_start = datetime.fromisoformat(started).astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"{run_start:%Y-%m-%d %H:%M}" in result.output
    assert "Times are in Asia/Tokyo" in result.output
    assert not re.search(r"\d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT", result.output), result.output
    # Scripts keep the stored ISO values.
    (line,) = json.loads(invoke(config, "status", "--json").output)
    assert line["last_success"] == row.last_success
    assert datetime.fromisoformat(line["last_success"]).tzinfo is not None


def test_a_failed_run_shows_its_reason(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the output folder should be")
    config = write(
        tmp_path,
        '[publish]\noutput_dir = "blocker/public"\n' + PAPERS,
    )
    assert invoke(config, "run").exit_code == 3
    result = invoke(config, "status")
    text = " ".join(result.output.split())
    assert re.search(r"#1 \S+ \S+ \S+ failed", text), result.output
    assert "stopped by an error: cannot write" in text and "Not a directory" in text


def test_counts_are_in_the_singular_for_one(tmp_path: Path) -> None:
    config = write(tmp_path, '[[sources]]\nname = "gone"\npath = "gone.xml"\n')
    assert invoke(config, "run").exit_code == 1
    result = invoke(config, "status")
    assert "Sources: 1 configured, 1 needs attention" in result.output
    assert "1 failure in a row" in result.output
    assert "1 source needs attention: gone (failing)" in result.output
    config = write(tmp_path, PAPERS)
    assert invoke(config, "run").exit_code == 0
    assert "Entries: 1 in 1 category: papers (1)" in invoke(config, "status").output


def assert_harmless(text: str) -> None:
    """No control character reaches the terminal and no line is forged."""
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", text), repr(text)
    for line in text.splitlines():
        assert not line.lstrip().startswith("Bcc:"), repr(line)


def test_hostile_categories_cannot_forge_lines_or_drive_the_terminal(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        f'[[sources]]\nname = "evil"\npath = "{HOSTILE}/operator-categories.rss"\n'
        "entry_categories = true\n",
    )
    ran = invoke(config, "run")
    assert ran.exit_code == 0, ran.output
    assert_harmless(ran.output)
    for columns in (80, 200):
        result = invoke(config, "status", columns=columns)
        assert result.exit_code == 0, result.output
        assert_harmless(result.output)
        assert "Bcc: victim@example.org" in result.output  # shown, on the category's line


@pytest.mark.sqlite_only(
    reason="writes the database with SQLite's own SQL (store.db, sqlite3) before loading the config"
)
def test_hostile_errors_in_the_database_are_printed_on_one_line(tmp_path: Path) -> None:
    config = write(tmp_path, '[[sources]]\nname = "feed"\npath = "feed.xml"\n')
    error = "boom\x1b]0;pwned\x07\r\nBcc: victim@example.org\x9b2J\u202eevil"
    with Store(tmp_path / "agg.db") as store, store.transaction():
        store.record_source(
            name="feed", kind="feed", location="feed.xml", now=datetime.now(UTC), error=error
        )
    result = invoke(config, "status")
    assert result.exit_code == 1
    assert_harmless(result.output)
    assert "\u202e" not in result.output
    assert "boom ]0;pwned Bcc: victim@example.org 2J evil" in result.output
    # JSON keeps the exact text for scripts, with every control character escaped.
    raw = invoke(config, "status", "--json").output
    assert_harmless(raw)
    assert "\u202e" not in raw
    (line,) = json.loads(raw)
    assert line["note"] == error


def test_each_run_says_how_long_it_took(tmp_path: Path) -> None:
    config = write(tmp_path, PAPERS)
    assert invoke(config, "run").exit_code == 0
    with Store(tmp_path / "agg.db") as store:
        (record,) = store.last_runs(1)
    stages = record["summary"]["stages"]
    assert {"ingest", "search index", "feeds", "digests"} <= set(stages)
    took = sum(stages.values())
    result = invoke(config, "status", columns=120)
    header = next(line for line in result.output.splitlines() if "started" in line)
    assert header.split()[-1] == "took"
    assert re.search(rf"#1 .* ok .*\b{took:.1f} s$", result.output, re.M), result.output
