"""Which config is used (--config, $AGGREGATOR_CONFIG, ./, XDG, default), and `init`."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from aggregator._app.cli import EXIT_CONFIG, main
from aggregator._common import resources
from aggregator.config import load_config
from aggregator.config.locate import (
    BY_CWD,
    BY_DEFAULT,
    BY_ENV,
    BY_OPTION,
    BY_XDG,
    locate,
    xdg_config_file,
)
from aggregator.errors import ConfigError

CONFIG = '[storage]\ndatabase = "{name}.db"\n'


def write(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "aggregator.toml"
    path.write_text(CONFIG.format(name=name), encoding="utf-8")
    return path


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    return {
        "cwd": tmp_path / "work",
        "home": tmp_path / "home",
        "xdg": tmp_path / "xdg",
        "env": tmp_path / "elsewhere",
        "option": tmp_path / "given",
    }


def test_each_rule_wins_over_those_after_it(places: dict[str, Path]) -> None:
    cwd, home = places["cwd"], places["home"]
    cwd.mkdir()
    environ: dict[str, str] = {}

    def found() -> tuple[str, Path]:
        settings = load_config(given, cwd=cwd, environ=environ, home=home)
        return settings.found_by, settings.storage.database

    given = None
    assert found() == (BY_DEFAULT, cwd / "aggregator.db")
    write(home / ".config" / "aggregator", "home-default")
    assert found() == (BY_XDG, home / ".config" / "aggregator" / "home-default.db")
    environ["XDG_CONFIG_HOME"] = str(places["xdg"])
    write(places["xdg"] / "aggregator", "xdg")
    # The database defaults to beside the config file it came from.
    assert found() == (BY_XDG, places["xdg"] / "aggregator" / "xdg.db")
    write(cwd, "cwd")
    assert found() == (BY_CWD, cwd / "cwd.db")
    environ["AGGREGATOR_CONFIG"] = str(write(places["env"], "env"))
    assert found() == (BY_ENV, places["env"] / "env.db")
    given = write(places["option"], "option")
    assert found() == (BY_OPTION, places["option"] / "option.db")


def test_a_relative_xdg_config_home_is_ignored_as_the_spec_says(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert xdg_config_file({"XDG_CONFIG_HOME": "relative"}, home) == (
        home / ".config" / "aggregator" / "aggregator.toml"
    )
    assert xdg_config_file({"XDG_CONFIG_HOME": ""}, home).parent.parent == home / ".config"


def test_an_empty_variable_is_unset(tmp_path: Path) -> None:
    where = locate(None, cwd=tmp_path, environ={"AGGREGATOR_CONFIG": ""}, home=tmp_path)
    assert where.found_by == BY_DEFAULT


def test_a_missing_file_named_by_the_variable_is_an_error_naming_it(tmp_path: Path) -> None:
    write(tmp_path, "cwd")  # not silently used instead
    missing = tmp_path / "typo.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(None, cwd=tmp_path, environ={"AGGREGATOR_CONFIG": str(missing)})
    assert str(missing) in caught.value.describe()
    assert "AGGREGATOR_CONFIG" in caught.value.describe()


def run_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from aggregator._app.cli import main; main()", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_status_and_config_path_say_which_config_and_why(tmp_path: Path) -> None:
    cwd, xdg = tmp_path / "work", tmp_path / "xdg"
    cwd.mkdir()
    config = write(xdg / "aggregator", "x")
    env = {"XDG_CONFIG_HOME": str(xdg), "AGGREGATOR_CONFIG": ""}
    result = run_cli("status", cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())  # wrapped to the terminal's width
    assert f"Config: {config} (from $XDG_CONFIG_HOME/aggregator/aggregator.toml)" in said
    result = run_cli("config", "path", cwd=cwd, env=env)
    assert result.stdout.startswith(f"{config} (from $XDG_CONFIG_HOME")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("config", "path", cwd=empty, env={"AGGREGATOR_CONFIG": ""})
    if not Path.home().joinpath(".config/aggregator/aggregator.toml").exists():
        assert result.stdout.startswith("embedded default")
    result = run_cli("status", cwd=empty, env={"AGGREGATOR_CONFIG": str(tmp_path / "no.toml")})
    assert result.returncode == EXIT_CONFIG
    assert "no such file (named by $AGGREGATOR_CONFIG)" in result.stderr


def test_init_then_run_in_an_empty_folder(tmp_path: Path) -> None:
    env = {"AGGREGATOR_CONFIG": ""}
    result = run_cli("init", "site", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "Wrote site/aggregator.toml" in result.stdout
    site = tmp_path / "site"
    # The database and output land beside the config, wherever the command runs.
    result = run_cli("--config", "site/aggregator.toml", "run", "--no-send", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "Entries: 39 new" in result.stdout
    assert (site / "aggregator.db").is_file()
    assert (site / "public" / "feeds" / "all.atom").stat().st_size > 0
    assert not (tmp_path / "public").exists()
    # Never replaces an existing config.
    before = (site / "aggregator.toml").read_bytes()
    result = run_cli("init", "site", cwd=tmp_path, env=env)
    assert result.returncode == EXIT_CONFIG
    assert "already exists" in result.stderr
    assert (site / "aggregator.toml").read_bytes() == before


def test_the_starter_is_a_subset_of_the_example(tmp_path: Path) -> None:
    starter = tomllib.loads(resources.starter_config().read_text(encoding="utf-8"))
    example = tomllib.loads(resources.example_config().read_text(encoding="utf-8"))
    for table, keys in starter.items():
        if table == "sources":
            continue
        assert set(keys) <= set(example[table]), table
    # And it is commented: every key has a comment line above it or its table.
    text = resources.starter_config().read_text(encoding="utf-8")
    assert text.count("\n#") > 20


def test_config_example_prints_the_shipped_example() -> None:
    result = CliRunner().invoke(main, ["config", "example"])
    assert result.exit_code == 0
    assert result.output == (ROOT / "config" / "example.toml").read_text(encoding="utf-8")
