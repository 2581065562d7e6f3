"""Headless Chromium for the tests that check pages as a browser renders them.

One place for finding the browser and for the flags it needs here: no sandbox (the
tests may run as root), no GPU, and none of the background connections that a closed
network refuses.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)"
)


def chromium(profile: Path, *arguments: str) -> list[str]:
    """The command line of a headless Chromium with its own ``profile`` folder."""
    assert CHROMIUM is not None
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *arguments,
    ]
