"""Every error pickles and unpickles to an equal error (worker processes hand them back)."""

from __future__ import annotations

import inspect
import pickle
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any

import pytest

from aggregator import errors
from aggregator.errors import AggregatorError

#: A sample value per annotation an error's keyword argument has; a new annotation
#: fails test_every_error_round_trips until it gets a sample here.
SAMPLES: dict[str, Any] = {
    "str": "a {name}",
    "str | None": "a {name}",
    "int | None": 421,
    "int": 508,
    "float | None": 2.5,
    "bool": True,
    "datetime | None": datetime(2026, 11, 23, 7, 30, tzinfo=UTC),
}


def _all_errors(root: type[AggregatorError] = AggregatorError) -> list[type[AggregatorError]]:
    found = [root]
    for child in root.__subclasses__():
        found.extend(_all_errors(child))
    return found


def _example(cls: type[AggregatorError]) -> AggregatorError:
    keywords: dict[str, Any] = {}
    for name, parameter in inspect.signature(cls).parameters.items():
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        annotation = str(parameter.annotation)
        assert annotation in SAMPLES, f"{cls.__name__}.{name}: add a sample for {annotation}"
        sample = SAMPLES[annotation]
        keywords[name] = sample.format(name=name) if isinstance(sample, str) else sample
    return cls("it broke", **keywords)


def _state(error: BaseException) -> tuple[Any, ...]:
    return type(error), error.args, str(error), vars(error)


def test_every_error_class_is_in_the_tree() -> None:
    named = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, AggregatorError)
    }
    assert named == set(_all_errors())


@pytest.mark.parametrize("cls", _all_errors(), ids=lambda cls: cls.__name__)
def test_every_error_round_trips(cls: type[AggregatorError]) -> None:
    error = _example(cls)
    again = pickle.loads(pickle.dumps(error))
    assert _state(again) == _state(error)
    assert again.hint == error.hint
    assert again.describe() == error.describe()


def test_the_attributes_an_error_carries_survive() -> None:
    error = errors.ConfigError("not a number", file="a.toml", key="fetch.timeout", hint="h")
    again = pickle.loads(pickle.dumps(error))
    assert (again.message, again.file, again.key, again.hint) == (
        "a.toml: fetch.timeout: not a number",
        "a.toml",
        "fetch.timeout",
        "h",
    )
    gone = pickle.loads(pickle.dumps(errors.GoneError("410", source="blog", status=410)))
    assert (type(gone), gone.source, gone.status, gone.hint) == (
        errors.GoneError,
        "blog",
        410,
        None,
    )


def _fail_in_worker(source: str) -> None:
    raise errors.ParseError("not XML", source=source, hint="is it a feed?")


def test_an_error_raised_in_a_worker_process_comes_back_as_itself() -> None:
    # Spawned, as the reading pool's workers are (aggregator._update.reading).
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        future = pool.submit(_fail_in_worker, "blog")
        with pytest.raises(errors.ParseError) as raised:
            future.result()
    assert (raised.value.message, raised.value.source, raised.value.hint) == (
        "not XML",
        "blog",
        "is it a feed?",
    )
