"""aggregator: feeds and daily lists in, deduplicated Atom feeds and email digests out.

The public surface is what this module exports (pinned by a test): the facade
:class:`Aggregator`, which every command goes through; :func:`load_config` and
:class:`Settings`; the result types; the :class:`Enricher` hook; and the errors, all
derived from :class:`AggregatorError`. Everything else (the ``_``-prefixed stage
packages, ``core``'s helpers) is private and may change in any release.

    from aggregator import Aggregator, load_config

    summary = Aggregator(load_config(None)).run(send=False)
"""

from typing import TYPE_CHECKING, Any

from ._common.version import __version__
from .errors import (
    AggregatorError,
    ConfigError,
    DeliveryError,
    FetchError,
    GoneError,
    LinkNotFoundError,
    LockedError,
    ParseError,
    PublishError,
    SearchError,
    SmtpError,
    SourceError,
    StorageError,
)

if TYPE_CHECKING:
    from ._mail.deliver import DeliveryReport
    from ._update.ingest import SourceReport
    from .config import Settings, load_config
    from .core import Aggregator, Enricher, RunSummary
    from .types import StoredEntry

#: Names imported on first use: a parsing worker process imports one stage package,
#: and should not pay for the facade, the store and the mailer (about 0.3 s of CPU each).
_LAZY = {
    "Aggregator": ".core",
    "Enricher": ".core",
    "RunSummary": ".core",
    "DeliveryReport": "._mail.deliver",
    "SourceReport": "._update.ingest",
    "Settings": ".config",
    "load_config": ".config",
    "StoredEntry": ".types",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # once imported, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Aggregator",
    "AggregatorError",
    "ConfigError",
    "DeliveryError",
    "DeliveryReport",
    "Enricher",
    "FetchError",
    "GoneError",
    "LinkNotFoundError",
    "LockedError",
    "ParseError",
    "PublishError",
    "RunSummary",
    "SearchError",
    "Settings",
    "SmtpError",
    "SourceError",
    "SourceReport",
    "StorageError",
    "StoredEntry",
    "__version__",
    "load_config",
]
