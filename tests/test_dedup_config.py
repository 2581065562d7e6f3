"""The [dedup] section: defaults, and bad values named by file and key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aggregator.config.settings import load_config
from aggregator.errors import ConfigError

SOURCE = '[[sources]]\nname = "news"\npath = "news.xml"\n'


def test_defaults(write_config: Callable[[str], Path]) -> None:
    dedup = load_config(write_config(SOURCE)).dedup
    assert (dedup.enabled, dedup.threshold, dedup.window_days) == (True, 0.5, 14)
    assert (dedup.num_perm, dedup.bands, dedup.source_priority) == (128, 32, ())


def test_values_are_read(write_config: Callable[[str], Path]) -> None:
    text = (
        "[dedup]\nthreshold = 0.7\nwindow_days = 3\nnum_perm = 64\nbands = 16\n"
        'source_priority = ["news"]\nenabled = false\ntitle_window_days = 30\n' + SOURCE
    )
    dedup = load_config(write_config(text)).dedup
    assert dedup.threshold == 0.7 and dedup.window_days == 3 and not dedup.enabled
    assert (dedup.num_perm, dedup.bands, dedup.source_priority) == (64, 16, ("news",))


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("threshold = 0", "dedup.threshold", "above 0"),
        ("threshold = 1.5", "dedup.threshold", "at most 1"),
        ('threshold = "high"', "dedup.threshold", "expected int or float"),
        ("window_days = -1", "dedup.window_days", "negative"),
        ("num_perm = 100", "dedup.num_perm", "multiple of bands"),
        ("bands = 0", "dedup.num_perm", "multiple of bands"),
        ('source_priority = ["nwes"]', "dedup.source_priority[0]", "'nwes' is not the name"),
        ("shingle = 4", "dedup.shingle", "unknown key"),
    ],
)
def test_bad_values_name_the_file_and_key(
    write_config: Callable[[str], Path], text: str, key: str, words: str
) -> None:
    path = write_config(f"[dedup]\n{text}\n{SOURCE}")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = caught.value.describe()
    assert str(path) in message and key in message and words in message
