"""`aggregator sources`: editing the config file in place, and OPML both ways."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator._app.cli import main
from aggregator._sources.opml import read
from aggregator.config.settings import load_config

CONFIG = """# My feeds. This comment must survive.
[storage]
database = "agg.db"  # next to the config

# Papers first.
[[sources]]
name = "papers"   # the arXiv list
url = "https://rss.arxiv.org/rss/cs.AI"
categories = ["cs.AI"]
"""

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Reader export</title></head>
  <body>
    <outline text="Science" title="Science">
      <outline type="rss" text="Nature News" title="Nature News"
               xmlUrl="https://www.nature.com/nature.rss" htmlUrl="https://www.nature.com/"/>
      <outline type="rss" text="arXiv cs.AI" xmlUrl="https://rss.arxiv.org/rss/cs.AI"/>
    </outline>
    <outline type="rss" text="Lab blog" xmlUrl="https://lab.example.org/feed.xml"
             category="/Blogs/ML,/Blogs/Lab"/>
    <outline type="rss" text="Nature News" xmlUrl="https://www.nature.com/other.rss"/>
    <outline type="rss" text="Gopher" xmlUrl="gopher://old.example.org/feed"/>
  </body>
</opml>
"""


def invoke(path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(path), "sources", *args])
    return result.exit_code, result.output


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_every_sources_command_has_help() -> None:
    group = main.commands["sources"]  # type: ignore[attr-defined]
    assert group.help
    for name, command in group.commands.items():
        assert command.help, name
        for param in command.params:
            if isinstance(param, type(command.params[0])) and param.param_type_name == "option":
                assert getattr(param, "help", None), f"sources {name} --{param.name}"
        result = CliRunner().invoke(main, ["sources", name, "--help"])
        assert result.exit_code == 0


def test_add_and_remove_keep_comments(config: Path) -> None:
    code, output = invoke(
        config, "add", "lab", "https://lab.example.org/feed.xml", "--category", "ml"
    )
    assert code == 0, output
    text = config.read_text()
    assert "# My feeds. This comment must survive." in text
    assert "# the arXiv list" in text and "# Papers first." in text
    settings = load_config(config)
    assert [(s.name, s.url, s.categories) for s in settings.sources] == [
        ("papers", "https://rss.arxiv.org/rss/cs.AI", ("cs.AI",)),
        ("lab", "https://lab.example.org/feed.xml", ("ml",)),
    ]
    code, output = invoke(config, "add", "notes", "notes/today.md", "--kind", "markdown")
    assert code == 0
    assert load_config(config).sources[-1].path == config.parent / "notes" / "today.md"
    code, output = invoke(config, "list")
    assert code == 0 and "lab.example.org" in output and "notes/today.md" in output
    code, output = invoke(config, "remove", "lab")
    assert code == 0 and "Removed lab" in output
    assert [s.name for s in load_config(config).sources] == ["papers", "notes"]
    assert "# the arXiv list" in config.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "papers", "https://other.example.org/"), "'papers' exists already"),
        (("add", "x", "ftp://files.example.org/feed"), "only http(s) URLs or local paths"),
        (("remove", "nope"), "no source named 'nope'"),
        (("add", "", "https://x.example.org/"), "every source needs a name"),
    ],
)
def test_bad_edits_exit_2_and_change_nothing(
    config: Path, args: tuple[str, ...], message: str
) -> None:
    code, output = invoke(config, *args)
    assert code == 2
    assert message in output and str(config) in output
    assert config.read_text() == CONFIG


def test_add_creates_aggregator_toml_when_there_is_none(tmp_path: Path) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, ["sources", "add", "a", "https://a.example.org/rss"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert "Created" in result.output
    assert load_config(tmp_path / "aggregator.toml").sources[0].url == "https://a.example.org/rss"


def test_import_opml_adds_new_feeds_with_their_folders(config: Path, tmp_path: Path) -> None:
    opml_file = tmp_path / "export.opml"
    opml_file.write_bytes(OPML)
    code, output = invoke(config, "import-opml", str(opml_file), "--dry-run")
    assert code == 0 and "would add: nature-news" in output
    assert config.read_text() == CONFIG
    code, output = invoke(config, "import-opml", str(opml_file))
    assert code == 0, output
    assert "Imported 3 of 5 feeds" in output
    assert "skipped: arXiv cs.AI (already configured)" in output
    assert "skipped: Gopher (not an http(s) URL" in output
    sources = {s.name: s for s in load_config(config).sources}
    assert sources["nature-news"].categories == ("Science",)
    assert sources["nature-news-2"].url == "https://www.nature.com/other.rss"
    assert sources["lab-blog"].categories == ("ML", "Lab")
    assert "# My feeds. This comment must survive." in config.read_text()


def test_export_opml_round_trips(config: Path, tmp_path: Path) -> None:
    invoke(config, "add", "lab", "https://lab.example.org/feed.xml", "--category", "ml")
    invoke(config, "add", "local", "x.xml")
    target = tmp_path / "out.opml"
    code, output = invoke(config, "export-opml", str(target))
    assert code == 0 and "Wrote 2 feeds" in output and "not exported (local files): local" in output
    found = read(target.read_bytes(), origin="out.opml")
    assert [(f.title, f.url, f.categories) for f in found] == [
        ("papers", "https://rss.arxiv.org/rss/cs.AI", ("cs.AI",)),
        ("lab", "https://lab.example.org/feed.xml", ("ml",)),
    ]
    code, printed = invoke(config, "export-opml")
    assert printed.startswith("<?xml version='1.0' encoding='utf-8'?>\n<opml version=\"2.0\">")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><body>no</body></html>", "not an OPML file"),
        (b"<opml><body><outline", "not valid OPML"),
        (b'<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]><opml/>', "external entity"),
    ],
)
def test_bad_opml_is_a_clear_error(config: Path, tmp_path: Path, data: bytes, message: str) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_bytes(data)
    code, output = invoke(config, "import-opml", str(bad))
    assert code == 2
    assert message in output and "bad.opml" in output
    assert config.read_text() == CONFIG


@pytest.mark.parametrize(
    "location",
    ["www.example.org/feed.xml", "example.org/rss", "localhost:8000/feed.xml", "www.example.org"],
)
def test_a_web_address_without_its_scheme_is_refused(config: Path, location: str) -> None:
    code, output = invoke(config, "add", "x", location)
    assert code == 2, output
    assert "looks like a web address" in output and str(config) in output
    assert f"did you mean https://{location}?" in output
    assert config.read_text() == CONFIG


def test_existing_and_explicit_relative_paths_are_still_paths(config: Path) -> None:
    (config.parent / "feeds.d").mkdir()
    (config.parent / "feeds.d" / "a.xml").write_text("<rss/>", encoding="utf-8")
    for name, location in (
        ("dotted-folder", "feeds.d/a.xml"),
        ("explicit", "./www.example.org/feed.xml"),
        ("bare-file", "notes.md"),
    ):
        code, output = invoke(config, "add", name, location)
        assert code == 0, output
    paths = {s.name: s.path for s in load_config(config).sources}
    assert paths["dotted-folder"] == config.parent / "feeds.d" / "a.xml"
    assert paths["explicit"] == config.parent / "www.example.org" / "feed.xml"
    assert paths["bare-file"] == config.parent / "notes.md"


COMMENTED = """\
# Feeds of the lab. Kept in git; edited by `aggregator sources` too.

[storage]
database = "agg.db"

# ---- Sources ----

# Papers: the arXiv list.
# Asked every morning.
[[sources]]
name = "papers"   # short name
url = "https://rss.arxiv.org/rss/cs.AI"
categories = ["cs.AI"]

# The lab's blog.
[[sources]]
name = "lab"
url = "https://lab.example.org/feed.xml"
# enabled = false   (commented out, belongs to lab)

    # Notes, indented comment.
[[sources]]
name = "notes"
path = "notes.md"
kind = "markdown"

# Digest settings follow.
[digest]
timezone = "UTC"  # days start at midnight UTC
# the end
"""

PAPERS = """\
# Papers: the arXiv list.
# Asked every morning.
[[sources]]
name = "papers"   # short name
url = "https://rss.arxiv.org/rss/cs.AI"
categories = ["cs.AI"]

"""
LAB = """\
# The lab's blog.
[[sources]]
name = "lab"
url = "https://lab.example.org/feed.xml"
# enabled = false   (commented out, belongs to lab)

"""
NOTES = """\

    # Notes, indented comment.
[[sources]]
name = "notes"
path = "notes.md"
kind = "markdown"
"""


@pytest.mark.parametrize(("name", "removed"), [("papers", PAPERS), ("lab", LAB), ("notes", NOTES)])
def test_remove_takes_only_its_own_comments(tmp_path: Path, name: str, removed: str) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    assert removed in COMMENTED
    code, output = invoke(path, "remove", name)
    assert code == 0, output
    # Every other byte, the comments above the following tables included, is unchanged.
    assert path.read_text(encoding="utf-8") == COMMENTED.replace(removed, "", 1)
    kept = [n for n in ("papers", "lab", "notes") if n != name]
    assert [s.name for s in load_config(path).sources] == kept


def test_removing_every_source_keeps_the_other_comments(tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    for name in ("lab", "notes", "papers"):
        assert invoke(path, "remove", name)[0] == 0
    text = path.read_text(encoding="utf-8")
    expected = COMMENTED
    for block in (LAB, NOTES, PAPERS):
        expected = expected.replace(block, "", 1)
    assert text == expected
    assert not load_config(path).sources
    for comment in ("# Feeds of the lab.", "# ---- Sources ----", "# Digest settings follow."):
        assert comment in text
