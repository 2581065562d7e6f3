"""The [arxiv] settings and arxiv sources in the configuration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from aggregator._sources.arxiv.calendar import DEFAULT_HOLIDAYS
from aggregator.config.settings import load_config
from aggregator.errors import ConfigError


def test_an_arxiv_source_follows_categories_through_the_configured_base(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(
        '[arxiv]\nbase_url = "http://mirror.example/arxiv"\nfeed_format = "atom"\n'
        '[[sources]]\nname = "a"\nkind = "arxiv"\ncategories = ["cs.AI", "math"]\n'
        '[[sources]]\nname = "b"\nkind = "arxiv"\nurl = "https://rss.arxiv.org/rss/hep-th"\n'
    )
    settings = load_config(path)
    a, b = settings.sources
    assert a.url == "http://mirror.example/arxiv/atom/cs.AI+math"
    assert a.follow == ("cs.AI", "math") and a.categories == () and a.entry_categories
    assert b.url == "https://rss.arxiv.org/rss/hep-th" and b.follow == ("hep-th",)
    assert settings.arxiv.holidays == DEFAULT_HOLIDAYS
    assert settings.arxiv.api_delay == 3.0


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[[sources]]\nname = "a"\nkind = "arxiv"\ncategories = ["cs AI"]\n', "categories"),
        ('[[sources]]\nname = "a"\nkind = "arxiv"\n', "sources[0] (a)"),
        ('[arxiv]\nholidays = ["2026-02-30"]\n', "arxiv.holidays[0]"),
        ('[arxiv]\nfeed_format = "json"\n', "arxiv.feed_format"),
        ('[arxiv]\nbase_url = "ftp://x"\n', "arxiv.base_url"),
        ("[arxiv]\napi_delay = -1\n", "arxiv.api_delay"),
        ("[arxiv]\nholiday = []\n", "arxiv.holiday"),
    ],
)
def test_bad_arxiv_settings_name_the_key(
    write_config: Callable[[str], Path], text: str, key: str
) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert key in str(info.value) and str(path) in str(info.value)


def test_holidays_are_configurable(write_config: Callable[[str], Path]) -> None:
    settings = load_config(write_config('[arxiv]\nholidays = ["2027-01-01"]\n'))
    assert settings.arxiv.holidays == (date(2027, 1, 1),)
