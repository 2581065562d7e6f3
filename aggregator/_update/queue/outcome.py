"""What a worker sends back for one source of one run, and how it travels.

Owns the :class:`Outcome` of a fetch job and its encoding: pickled, as the documents a
worker process reads travel back to a run today (``reading.py``), so the coordinator
gets the same objects, errors included, that reading in its own process gives. The
database that carries it is trusted as the code is: whoever can write the
``queue_results`` table can make the coordinator unpickle what they wrote (see "Scaling
out" in the README). Never fetches, reads or stores.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import datetime

from ..._fetch.decoding import Prepared
from ..._fetch.http import Fetched
from ..reading import Read

#: Bumped when Outcome changes: a coordinator never reads a newer or older shape.
VERSION = 1


@dataclass(frozen=True)
class Outcome:
    """One source's fetch (and read) by a worker."""

    #: The run's clock when the job was queued: the read's first-seen time.
    now: datetime
    fetched: Fetched | None = None
    #: What fetching raised (a FetchError, as the run would have met it).
    error: BaseException | None = None
    #: The screened document and its fingerprint, when there was one to read.
    prepared: Prepared | None = None
    fingerprint: str | None = None
    #: The document read, or what reading raised; neither when it was unchanged.
    read: Read | None = None
    read_error: BaseException | None = None


def portable(err: BaseException) -> BaseException:
    """``err`` itself when it pickles (every AggregatorError does), else a RuntimeError
    naming it: a bug's exception must not lose the whole outcome."""
    try:
        pickle.loads(pickle.dumps(err))
    except Exception:
        return RuntimeError(f"{type(err).__name__}: {err}")
    return err


def encode(outcome: Outcome) -> bytes:
    return pickle.dumps((VERSION, outcome), protocol=pickle.HIGHEST_PROTOCOL)


def decode(payload: bytes) -> Outcome | None:
    """The outcome in ``payload``; None when another version of aggregator wrote it."""
    try:
        version, outcome = pickle.loads(payload)
    except Exception:
        return None
    return outcome if version == VERSION and isinstance(outcome, Outcome) else None
