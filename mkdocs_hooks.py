"""MkDocs hook: add the generated reference pages (see aggregator/_app/reference.py).

``configuration.md`` comes from the config schema and ``cli.md`` from the click
commands, at every build, so the site always describes the code it was built from.
"""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

from aggregator._app.cli import main
from aggregator._app.reference import cli_reference, config_reference


def on_files(files: Files, config: Any) -> Files:
    for name, text in (("configuration.md", config_reference()), ("cli.md", cli_reference(main))):
        files.append(File.generated(config, name, content=text))
    return files
