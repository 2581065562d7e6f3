"""The one error hierarchy of aggregator.

Every error a user can meet derives from :class:`AggregatorError` and carries what
the user needs to act on it (the source, the config key and file, the path)::

    AggregatorError
    ├── ConfigError      a config file or key is wrong (names the key and the file)
    ├── SourceError      one source could not be read (names the source)
    │   ├── FetchError   the bytes could not be got (missing file, HTTP failure)
    │   └── ParseError   the bytes are not what the source's kind expects
    ├── StorageError     the database cannot be opened, migrated or written
    ├── PublishError     a feed, digest or index page cannot be written
    ├── DeliveryError    a digest cannot be sent
    └── LinkNotFoundError  `dupes explain/split` named no duplicate link

Third-party exceptions are converted at the module boundary with ``raise ... from err``.
"""

from __future__ import annotations


class AggregatorError(Exception):
    """Root of every error aggregator raises on purpose."""

    #: What the user can do about it, shown after the message when set.
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def describe(self) -> str:
        """One line for people: the message, then the hint if there is one."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(AggregatorError):
    """The configuration is invalid. ``file`` and ``key`` say where."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.file = file
        self.key = key


class SourceError(AggregatorError):
    """One source failed; the run goes on with the others."""

    def __init__(self, message: str, *, source: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.source = source


class FetchError(SourceError):
    """The source's bytes could not be got."""


class ParseError(SourceError):
    """The source's bytes could not be parsed into entries."""


class StorageError(AggregatorError):
    """The database could not be opened, migrated or written."""


class PublishError(AggregatorError):
    """An output file could not be written."""


class DeliveryError(AggregatorError):
    """A digest could not be delivered."""


class LinkNotFoundError(AggregatorError):
    """``dupes explain`` or ``dupes split`` was given something that is not a link."""
