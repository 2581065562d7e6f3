"""What a worker sends back for one source of one run, and how it travels.

Owns the :class:`Outcome` of a fetch job and its encoding: pickled, as the documents a
worker process reads travel back to a run today (``reading.py``), so the coordinator
gets the same objects, errors included, that reading in its own process gives. Decoding
is restricted (the "restricting globals" recipe of the pickle documentation): only
aggregator's own data classes, enumerations and errors, the standard library's date and
time types, NumPy arrays and built-in exceptions may be named, so a row someone else
wrote into ``queue_results`` can at worst be read as a wrong outcome, never run code
(see "Scaling out" in the README). Never fetches, reads or stores.
"""

from __future__ import annotations

import builtins
import dataclasses
import enum
import io
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


#: Modules whose classes (never functions) an outcome may name, besides aggregator's.
_STANDARD = {"datetime": {"date", "datetime", "time", "timedelta", "timezone"}}
#: What else the pickle of a frozen data class or an error refers to.
_HELPERS = {
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("zoneinfo", "ZoneInfo"),
    # NumPy arrays (near-duplicate signatures): rebuilt from their bytes, dtype and shape.
    *(
        (f"numpy.{core}.{module}", name)
        for core in ("_core", "core")
        for module, name in (("numeric", "_frombuffer"), ("multiarray", "_reconstruct"))
    ),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
}


class _Restricted(pickle.Unpickler):
    """An unpickler that names only data: aggregator's data classes and errors, the
    standard library's date and time types, and built-in exceptions."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in _HELPERS or name in _STANDARD.get(module, ()):
            return super().find_class(module, name)
        if module == "builtins":
            found = getattr(builtins, name, None)
            if isinstance(found, type) and issubclass(found, BaseException):
                return found
            if name in ("frozenset", "set", "tuple", "list", "dict", "bytes", "str"):
                return found
        elif module == "aggregator" or module.startswith("aggregator."):
            found = super().find_class(module, name)
            if isinstance(found, type) and (
                dataclasses.is_dataclass(found) or issubclass(found, (BaseException, enum.Enum))
            ):
                return found
        raise pickle.UnpicklingError(f"an outcome may not name {module}.{name}")


def decode(payload: bytes) -> Outcome | None:
    """The outcome in ``payload``; None when another version of aggregator wrote it, or
    it is not one (anything but data is refused unbuilt: see the module's docstring)."""
    try:
        version, outcome = _Restricted(io.BytesIO(payload)).load()
    except Exception:
        return None
    return outcome if version == VERSION and isinstance(outcome, Outcome) else None
