"""The one error hierarchy of aggregator.

Every error a user can meet derives from :class:`AggregatorError` and carries what
the user needs to act on it (the source, the config key and file, the path)::

    AggregatorError
    ├── ConfigError      a config file or key is wrong (names the key and the file)
    ├── SourceError      one source could not be read (names the source)
    │   ├── FetchError   the bytes could not be got (missing file, HTTP failure)
    │   │   └── GoneError    HTTP 410: the publisher removed the source for good
    │   └── ParseError   the bytes are not what the source's kind expects
    ├── StorageError     the database cannot be opened, migrated or written
    │   └── LockedError  another run holds the database's lock (names its PID)
    ├── PublishError     a feed, digest or index page cannot be written
    ├── DeliveryError    a digest cannot be sent
    │   └── SmtpError    the SMTP server refused, failed or could not be reached
    ├── SummaryError     a summary server gave no summary (never stops a run: reported)
    ├── LinkNotFoundError  `dupes explain/split` named no duplicate link
    └── SearchError  a search query asks for nothing, or breaks FTS5's syntax

Third-party exceptions are converted at the module boundary with ``raise ... from err``.
Every error pickles (a parsing worker process hands its error back as it was).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


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

    def __reduce__(self) -> tuple[Any, ...]:
        # The default pickling calls ``type(self)(*self.args)``, which fails for the
        # errors with required keyword arguments (``source``, ``temporary``), and would
        # run any __init__ that reshapes the message again. Rebuild without __init__.
        return (_rebuild, (type(self), self.args, dict(vars(self))))


def _rebuild(
    cls: type[AggregatorError], args: tuple[Any, ...], state: dict[str, Any]
) -> AggregatorError:
    """An unpickled error: the class, its args and its attributes, as they were."""
    error = cls.__new__(cls, *args)
    vars(error).update(state)
    return error


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
    """The source's bytes could not be got.

    ``status`` is the HTTP status when there was one; ``retry_after`` the time the
    server asked not to be called before (429 or 503 with Retry-After).
    """

    def __init__(
        self,
        message: str,
        *,
        source: str,
        hint: str | None = None,
        status: int | None = None,
        retry_after: datetime | None = None,
    ) -> None:
        super().__init__(message, source=source, hint=hint)
        self.status = status
        self.retry_after = retry_after


class GoneError(FetchError):
    """HTTP 410 Gone: the source is disabled until its configured URL changes."""


class ParseError(SourceError):
    """The source's bytes could not be parsed into entries."""


class StorageError(AggregatorError):
    """The database could not be opened, migrated or written."""


class LockedError(StorageError):
    """Another aggregator process held the database's lock for longer than we wait."""

    def __init__(self, message: str, *, holder: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        #: What the lock file says about its holder ("pid 1234, run, since ..."), if known.
        self.holder = holder


class PublishError(AggregatorError):
    """An output file could not be written."""


class DeliveryError(AggregatorError):
    """A digest could not be delivered."""


class SmtpError(DeliveryError):
    """An SMTP failure, with the server's reply when there is one.

    ``temporary``: worth retrying later (4xx, connection trouble); ``session``: the
    connection itself is unusable (cannot connect, log in or start TLS), so every
    recipient not yet served is affected, not just the current one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        temporary: bool,
        session: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.temporary = temporary
        self.session = session


class SummaryError(AggregatorError):
    """A chat-completions server gave no usable summary. ``kind`` says why:

    ``malformed`` (a reply that is not the JSON asked for: worth one more try),
    ``rate-limited`` (429: wait ``retry_after`` seconds, when the server said),
    ``transient`` (5xx, a timeout, a dropped connection: worth one more try),
    ``fatal`` (no server there, a refused key, an unknown model: stop asking this run).
    ``tokens`` counts what the failed request spent. The summariser reports it in the
    run's output; it never stops a run.
    """

    def __init__(
        self, message: str, *, kind: str, retry_after: float | None = None, tokens: int = 0
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.tokens = tokens


class LinkNotFoundError(AggregatorError):
    """``dupes explain`` or ``dupes split`` was given something that is not a link."""


class SearchError(AggregatorError):
    """A search query cannot be run: it has nothing to look for, or (in SQLite's own
    FTS5 syntax) is not well formed. The hint says how to write it."""
