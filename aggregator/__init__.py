"""aggregator: feeds and daily lists in, deduplicated Atom feeds and email digests out.

The public surface is what this module exports (pinned by a test): the facade
:class:`Aggregator`, which every command goes through; :func:`load_config` and
:class:`Settings`; the result types; the :class:`Enricher` hook; and the errors, all
derived from :class:`AggregatorError`. Everything else (the ``_``-prefixed stage
packages, ``core``'s helpers) is private and may change in any release.

    from aggregator import Aggregator, load_config

    summary = Aggregator(load_config(None)).run(send=False)
"""

from ._common.version import __version__
from ._mail.deliver import DeliveryReport
from ._update.ingest import SourceReport
from .config import Settings, load_config
from .core import Aggregator, Enricher, RunSummary
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
    SmtpError,
    SourceError,
    StorageError,
)
from .types import StoredEntry

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
    "Settings",
    "SmtpError",
    "SourceError",
    "SourceReport",
    "StorageError",
    "StoredEntry",
    "__version__",
    "load_config",
]
