"""``aggregator search`` from the command line, over a real database a real run filled."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pgbackend
import pytest
from click.testing import CliRunner
from conftest import DATA, NOW

from aggregator._app.cli import main
from aggregator.config.settings import load_config
from aggregator.core import Aggregator

RAG = "Retrieval-augmented agents for C++ code repair"
ON_POSTGRESQL = pgbackend.ENABLED
FTS5_ON_POSTGRESQL = "the fts5 query syntax is SQLite's" if ON_POSTGRESQL else ""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("search")
    shutil.copy(DATA / "search" / "lab.atom", folder / "lab.atom")
    path = folder / "aggregator.toml"
    path.write_text(
        '[[sources]]\nname = "lab"\nkind = "feed"\npath = "lab.atom"\ncategories = ["reading"]\n',
        encoding="utf-8",
    )
    Aggregator(load_config(path), clock=lambda: NOW).run()
    return path


def search(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(config), "search", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_terminal_shows_titles_snippets_and_links_best_first(config: Path) -> None:
    code, out, _ = search(config, "agent")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"1. {RAG}"
    assert lines[1].strip() == "2026-11-23 · reading · Ingrid Sørensen, Tomás Ávila"
    assert "look up compiler diagnostics" in lines[2]
    link = lines.index("   https://lab.example.org/notes/rag-cpp-repair")
    assert lines[link + 1] == "2. A survey of program synthesis benchmarks"


def test_json_is_plain_and_complete(config: Path) -> None:
    code, out, _ = search(config, "--json", "修复")
    assert code == 0
    found = json.loads(out)
    assert (found["query"], found["total"], found["unindexed"]) == ("修复", 1, 0)
    [hit] = found["hits"]
    assert hit["title"] == "基于大语言模型的程序错误修复"
    # PostgreSQL marks "修" of "修改" too (test_search_index: what differs).
    assert hit["matched"] == (["修", "修复"] if ON_POSTGRESQL else ["修复"])
    assert hit["snippet"].startswith("我们提出一种检索增强的方法")
    assert "\x02" not in out and "\x1f" not in out
    assert hit["categories"] == ["reading"]
    assert hit["link"] == "https://lab.example.org/notes/llm-bug-fixing-zh"


def test_words_are_joined_and_minus_words_come_after_two_dashes(config: Path) -> None:
    code, out, _ = search(config, "--json", "--", "agent", "-tools")
    assert code == 0
    assert [hit["title"] for hit in json.loads(out)["hits"]] == [RAG]
    code, out, _ = search(config, "--json", "don't", "C++")
    assert [hit["title"] for hit in json.loads(out)["hits"]] == [RAG]


def test_category_since_and_limit(config: Path) -> None:
    assert json.loads(search(config, "--json", "-c", "reading", "agent")[1])["total"] == 2
    assert json.loads(search(config, "--json", "-c", "other", "agent")[1])["total"] == 0
    assert json.loads(search(config, "--json", "--since", "2026-11-24", "agent")[1])["total"] == 0
    found = json.loads(search(config, "--json", "-n", "1", "agent")[1])
    assert (found["total"], len(found["hits"])) == (2, 1)
    _, out, _ = search(config, "-n", "1", "agent")
    assert "1 of 2 matches; --limit shows more." in out


def test_nothing_found_says_so(config: Path) -> None:
    code, out, _ = search(config, "zebrafish")
    assert (code, out) == (0, "Nothing found for 'zebrafish'.\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["++"], "nothing to search for in '++'"),
        # SQLite's own syntax: PostgreSQL says it is SQLite's (test_search_index).
        (["--fts5", "agent AND"], FTS5_ON_POSTGRESQL or 'fts5: syntax error near ""'),
        (["--fts5", "nosuch: x"], FTS5_ON_POSTGRESQL or "no such column: nosuch"),
    ],
)
def test_a_bad_query_exits_2_with_one_line_and_a_hint(
    config: Path, args: list[str], message: str
) -> None:
    code, out, err = search(config, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and message in err and "(" in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_script_text_reaches_the_terminal_as_text(config: Path) -> None:
    code, out, _ = search(config, "owned")
    assert code == 0
    assert '<script>alert("owned")</script>' in out


@pytest.mark.sqlite_only(
    reason="no database yet: a SQLite file not made (PostgreSQL's is always there)"
)
def test_without_a_database_search_says_run_first(tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text("", encoding="utf-8")
    code, _, err = search(path, "agent")
    assert code == 2
    assert "no database yet" in err and "aggregator run" in err


def test_help() -> None:
    result = CliRunner().invoke(main, ["search", "--help"])
    assert result.exit_code == 0
    for option in ("--category", "--since", "--limit", "--fts5", "--json"):
        assert option in result.output
