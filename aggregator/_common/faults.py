"""Test hooks for crash-safety tests: pause the process at a named point.

Setting ``AGGREGATOR_TEST_PAUSE_AT`` to a point's name makes the process announce
``aggregator: paused at <point>`` on standard error and sleep, so that a test can kill
it with SIGKILL at exactly that moment and check what the next run does. Points:

- ``ingest``: after the first source's entries are committed, before the next source;
- ``publish`` or ``publish:<file name>``: inside the atomic file writer, after the
  temporary file is written and synced, before it is renamed over ``<file name>``
  (digests' ``index.html``/``digest.txt``, feeds' ``<category>.atom``, the index page);
- ``send`` or ``send:<address>``: the message to that subscriber is with the SMTP
  server but for the final dot that hands it over; the delivery log still says
  ``pending`` (or ``failed-temporary``);
- ``send-accepted`` or ``send-accepted:<address>``: the server answered 250 to the
  message; the delivery log still says ``sending`` (the unconfirmed window).

Never set it outside tests: a paused process holds the run lock until it is killed.
"""

from __future__ import annotations

import os
import sys
import time

ENV = "AGGREGATOR_TEST_PAUSE_AT"

#: How long a paused process sleeps before it goes on (a forgotten test is not eternal).
PAUSE_SECONDS = 300.0


def pause_point(point: str, detail: str | None = None) -> None:
    """Pause here if the environment asks for ``point`` (or ``point:detail``)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    if wanted == point or (detail is not None and wanted == f"{point}:{detail}"):
        print(f"aggregator: paused at {wanted}", file=sys.stderr, flush=True)
        time.sleep(PAUSE_SECONDS)
