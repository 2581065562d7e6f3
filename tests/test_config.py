from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS

from aggregator.config.settings import SCHEMA, SOURCE_SCHEMA, load_config
from aggregator.errors import ConfigError


def test_embedded_default_reads_the_seeds_and_writes_to_cwd(tmp_path: Path) -> None:
    settings = load_config(None, cwd=tmp_path)
    assert settings.origin == "<embedded default>"
    assert settings.storage.database == tmp_path / "aggregator.db"
    assert settings.publish.output_dir == tmp_path / "public"
    paths = [s.path for s in settings.sources]
    assert all(p is not None and p.is_file() for p in paths)
    assert {p.name for p in paths if p} >= {f.name for f in SEEDS.glob("00*.txt")}


def test_aggregator_toml_in_cwd_is_used(tmp_path: Path) -> None:
    (tmp_path / "aggregator.toml").write_text('[publish]\ntitle = "Mine"\n')
    settings = load_config(None, cwd=tmp_path)
    assert settings.publish.title == "Mine"
    assert settings.sources == ()


def test_paths_are_relative_to_the_config_file(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        '[storage]\ndatabase = "db/x.db"\n[[sources]]\nname = "a"\npath = "in/a.xml"\n'
    )
    settings = load_config(path)
    assert settings.storage.database == path.parent / "db" / "x.db"
    assert settings.sources[0].path == path.parent / "in" / "a.xml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[publish]\ntitel = "x"\n', r"publish\.titel: unknown key"),
        ('[publish]\nfeed_max_entries = "ten"\n', r"publish\.feed_max_entries: expected int"),
        ("[fetch]\ntimeout = true\n", r"fetch\.timeout: expected int or float, got bool"),
        ("[emial]\n", r"emial: unknown section"),
        ('[digest]\ntimezone = "Mars/Olympus"\n', r"digest\.timezone: unknown time zone"),
        ('[[sources]]\nname = "a"\npath = "x"\nkind = "rss"\n', r"sources\[0\] \(a\)\.kind"),
        ('[[sources]]\nname = "a"\nurl = "ftp://x/y"\n', r"url must be http\(s\)"),
        ('[[sources]]\nname = "a"\nurl = "https://x/"\npath = "y"\n', r"exactly one of url"),
        ('[[sources]]\nname = "a"\n', r"exactly one of url or path"),
        (
            '[[sources]]\nname = "a"\npath = "x"\n[[sources]]\nname = "a"\npath = "y"\n',
            r"'a' is used twice",
        ),
        ('[[sources]]\nname = "a"\npath = "x"\ncolour = 1\n', r"sources\[0\]\.colour: unknown"),
        ("[publish\n", r"not valid TOML"),
    ],
)
def test_bad_config_names_the_file_and_key(
    write_config: Callable[[str], Path], text: str, message: str
) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert re.search(message, str(info.value)), str(info.value)


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")


def test_every_key_is_documented_in_example_toml() -> None:
    example = (ROOT / "config" / "example.toml").read_text(encoding="utf-8")
    for section, keys in SCHEMA.items():
        assert f"[{section}]" in example
        for key in keys:
            assert re.search(rf"^#?\s*{key} = ", example, re.M), f"{section}.{key} undocumented"
    for key in SOURCE_SCHEMA:
        assert re.search(rf"^#?\s*{key} = ", example, re.M), f"sources.{key} undocumented"


def test_example_toml_is_valid(tmp_path: Path) -> None:
    settings = load_config(ROOT / "config" / "example.toml")
    assert [s.name for s in settings.sources] == ["arxiv-cs-ai", "lab-reading-list"]
    # An arxiv source that names categories and no url reads [arxiv].base_url's feed.
    assert settings.sources[0].url == "https://rss.arxiv.org/rss/cs.AI+cs.LG"
    assert settings.sources[0].follow == ("cs.AI", "cs.LG")
