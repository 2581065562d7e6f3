"""What a package index page and an installed wheel need from the project's files."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version

from conftest import ROOT

from aggregator import __version__

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_one_version_source() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "aggregator/_common/version.py"
    assert version("aggregator-feeds") == __version__
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{__version__}] - " in changelog, "a release section for this version"


def test_licence_and_metadata_ship() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert project["authors"] and project["classifiers"] and project["urls"]
    assert project["scripts"] == {"aggregator": "aggregator._app.cli:main"}


def test_every_bundled_file_exists_and_the_example_config_ships() -> None:
    included = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    for source in included:
        assert (ROOT / source).exists(), source
    assert included["config/example.toml"] == "aggregator/_data/config/example.toml"
    assert included["config/starter.toml"] == "aggregator/_data/config/starter.toml"


def test_readme_links_work_on_a_package_index_page() -> None:
    # Relative links point into a repository the index page is not beside.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    relative = [
        target
        for target in re.findall(r"\]\(([^)\s]+)\)", readme)
        if not target.startswith(("http://", "https://", "#", "mailto:"))
    ]
    assert relative == []


def test_no_extra_refers_to_the_old_distribution_name() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    for requirements in extras.values():
        for requirement in requirements:
            assert not requirement.startswith("aggregator["), requirement
