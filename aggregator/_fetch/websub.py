"""WebSub publishing: telling a hub that feeds changed (https://www.w3.org/TR/websub/).

Owns the publish ping: one form POST of ``hub.mode=publish`` and ``hub.url=<topic>`` per
changed feed URL, with the project's client (User-Agent, timeouts, proxies). Never
raises for a hub that is down or refuses: a ping is a courtesy, so its failures are
returned as messages for the run to warn about. Never reads files or the database.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from ..config.settings import FetchSettings
from .http import make_client


def ping(
    hub: str,
    topics: Sequence[str],
    settings: FetchSettings,
    *,
    client: httpx.Client | None = None,
) -> list[str]:
    """POST a publish notification for each of ``topics`` to ``hub``; the problems.

    A hub that cannot be reached is tried once, not once per topic: the rest of the
    topics are reported unsent instead of each waiting for the same timeout.
    """
    problems: list[str] = []
    http = client or make_client(settings)
    try:
        for index, topic in enumerate(topics):
            try:
                response = http.post(hub, data={"hub.mode": "publish", "hub.url": topic})
            except httpx.HTTPError as err:
                left = len(topics) - index
                problems.append(
                    f"WebSub hub {hub} unreachable ({type(err).__name__}: {err}):"
                    f" {left} change notification{'s' if left != 1 else ''} not sent"
                )
                break
            if not response.is_success:
                problems.append(
                    f"WebSub hub {hub} answered {response.status_code} to the"
                    f" notification for {topic}"
                )
    finally:
        if client is None:
            http.close()
    return problems
