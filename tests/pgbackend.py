"""``AGGREGATOR_TEST_BACKEND=postgresql``: the whole suite on PostgreSQL.

Every config a test loads whose ``[storage]`` names a SQLite database (and no url) is
given a PostgreSQL database in its place, one per SQLite path, on the test cluster
(pgserver.py); ``Store(path)`` in a test module for such a path opens that database
too. A database made while a module or session fixture is set up lives for the
session; one made by a test is dropped when the test ends.

Left alone: tests marked ``sqlite_only`` (about the SQLite file itself), tests that
pick their backends themselves (the ``storage`` and ``pg_url`` fixtures), and CLI
runs in subprocesses, which read their config as written.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pgserver
import pytest

from aggregator.config import settings as settings_module
from aggregator.config.settings import StorageSettings

#: The switch, and its value that turns this on.
VARIABLE = "AGGREGATOR_TEST_BACKEND"
ENABLED = os.environ.get(VARIABLE, "sqlite").lower() == "postgresql"

#: Fixtures with which a test picks its backends itself.
CHOOSING = ("storage", "pg_url")

_names = itertools.count(1)


@dataclass
class Redirect:
    """The databases made in place of SQLite paths, and what is being set up now."""

    server: pgserver.PostgresServer
    real: Any
    item: pytest.Item | None = None
    #: Scopes of the fixtures being set up (innermost last).
    setting_up: list[str] = field(default_factory=list)
    made: dict[Path, str] = field(default_factory=dict)
    #: Databases to drop when the current test ends.
    of_test: list[Path] = field(default_factory=list)

    def applies(self) -> bool:
        item = self.item
        if item is None or item.get_closest_marker("sqlite_only") is not None:
            return False
        return not any(name in getattr(item, "fixturenames", ()) for name in CHOOSING)

    def storage(self, values: dict[str, Any], **kwargs: Any) -> StorageSettings:
        found: StorageSettings = self.real(values, **kwargs)
        if found.url is not None or not self.applies():
            return found
        return replace(found, url=self.url_for(found.database))

    def url_for(self, path: Path) -> str:
        if path not in self.made:
            self.made[path] = f"test_{os.getpid()}_b{next(_names)}"
            self.server.create_database(self.made[path])
            if not any(scope != "function" for scope in self.setting_up):
                self.of_test.append(path)
        return self.server.url(self.made[path])

    def store(self, path: Path, *args: Any, **kwargs: Any) -> Any:
        """``Store(path)`` of a test module: the database made for ``path``, if any."""
        from aggregator._storage.postgres import PostgresStore
        from aggregator._storage.sqlite import Store

        if Path(path) in self.made and self.applies():
            return PostgresStore(StorageSettings(database=Path(path), url=self.url_for(path)))
        return Store(path, *args, **kwargs)

    def drop(self, paths: list[Path]) -> None:
        from aggregator._storage.postgres.connect import close_pools

        if not paths:
            return
        close_pools()
        for path in paths:
            self.server.drop_database(self.made.pop(path))
        paths.clear()


_active: Redirect | None = None


def start(server: pgserver.PostgresServer, patch: pytest.MonkeyPatch) -> Redirect:
    """Patch the config loader (for the session); the test being set up now, the
    first, gets its ``Store`` patched here."""
    global _active
    _active = Redirect(server, settings_module._storage)
    patch.setattr(settings_module, "_storage", _active.storage)
    if _item is not None:
        entering(_item)
    return _active


def stop() -> None:
    global _active
    if _active is not None:
        _active.drop(list(_active.made))
    _active = None


_item: pytest.Item | None = None


def entering(item: pytest.Item) -> None:
    """A test's setup begins: configs loaded from now on are this test's."""
    global _item
    _item = item
    if _active is None:
        return
    _active.item = item
    from aggregator._storage.sqlite import Store

    module = getattr(item, "module", None)
    if module is not None and getattr(module, "Store", None) is Store and _active.applies():
        patch = pytest.MonkeyPatch()
        patch.setattr(module, "Store", _active.store)
        item.stash[_UNDO] = patch


def leaving(item: pytest.Item) -> None:
    """A test's teardown ended: its own databases go."""
    if _active is None:
        return
    if _UNDO in item.stash:
        item.stash[_UNDO].undo()
    _active.drop(_active.of_test)
    _active.item = None


def setting_up(scope: str) -> None:
    if _active is not None:
        _active.setting_up.append(scope)


def set_up() -> None:
    if _active is not None:
        _active.setting_up.pop()


_UNDO = pytest.StashKey[pytest.MonkeyPatch]()
