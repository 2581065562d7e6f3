"""Summaries: the extractive provider per 1,000 entries, and the openai-compatible one
against a chat-completions server on 127.0.0.1 (``python -m benchmarks.summaries``).

The server is :mod:`benchmarks.chatserver` with a fixed delay per reply standing in
for a model's generation time (``--latency``, default 0.5 s: a small local model on a
GPU); what is measured is aggregator's side: calls, tokens and wall time per 100 new
papers at each concurrency, and that a rerun makes no call (the cache). Figures,
never assertions.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from aggregator._enrich.summaries import Summariser, extractive_summary
from aggregator._storage.sqlite import Store
from aggregator.config.summaries import SummariesSettings
from aggregator.types import StoredEntry
from benchmarks.chatserver import chat_server, summarise

NOW = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
_TOPICS = (
    "graph neural networks",
    "protein folding",
    "quantum error correction",
    "retrieval-augmented generation",
    "galaxy cluster lensing",
    "robot grasping",
)
_METHODS = (
    "a contrastive pretraining objective",
    "a sparse mixture of experts",
    "a variational bound",
    "a learned preconditioner",
    "a diffusion prior",
)


def abstract(i: int) -> str:
    """A made-up abstract in the usual shape: context, gap, contribution, result."""
    topic, method = _TOPICS[i % len(_TOPICS)], _METHODS[i % len(_METHODS)]
    return (
        f"Recent progress in {topic} has been driven by ever larger models and datasets. "
        f"However, existing approaches to {topic} remain brittle under distribution shift, "
        f"e.g. when test conditions differ from training by more than {i % 9 + 2}%. "
        f"In this work we propose {method} that adapts to new conditions from a handful "
        f"of unlabeled examples. We prove a bound on the adaptation error and describe an "
        f"efficient implementation. Experiments on {i % 5 + 3} benchmarks show that our "
        f"method improves accuracy by {i % 7 + 1}.{i % 10} points over strong baselines. "
        f"Code is available at https://example.org/{i}."
    )


def paper(i: int) -> StoredEntry:
    return StoredEntry(
        key=f"arxiv:2612.{i:05d}",
        atom_id=f"urn:bench:{i}",
        title=f"Paper {i} on {_TOPICS[i % len(_TOPICS)]}",
        link=None,
        published=NOW,
        updated=NOW,
        first_seen=NOW,
        digest_day=date(2026, 12, 4),
        authors=("A. Author",),
        summary=f"<p>{abstract(i)}</p>",
        content=None,
        sections=(),
        categories=("cs.LG",),
        pdf_url=None,
        arxiv_id=None,
        doi=None,
        language="en",
        content_hash=f"h{i}",
        position=i,
    )


def extractive(count: int) -> float:
    """CPU seconds for ``count`` extractive summaries (best of three)."""
    texts = [paper(i).summary for i in range(count)]
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for text in texts:
            extractive_summary(text)
        best = min(best, time.process_time() - started)
    return best


def server_run(papers: int, concurrency: int, latency: float) -> list[str]:
    rows = []
    with chat_server(lambda body, n: replace(summarise(body), delay=latency)) as server:
        config = SummariesSettings(
            provider="openai-compatible",
            base_url=server.url,
            model="bench",
            concurrency=concurrency,
            max_entries_per_run=papers,
            max_seconds=3600,
        )
        entries = [paper(i) for i in range(papers)]
        with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "b.db") as store:
            for label in ("first run", "rerun"):
                before = server.calls
                worker = Summariser(config, now=lambda: NOW)
                started = time.perf_counter()
                worker.enrich(entries, store)
                wall = time.perf_counter() - started
                report = worker.report
                rows.append(
                    f"  concurrency {concurrency}, {label}: {server.calls - before} calls,"
                    f" {report.tokens:,} tokens, {wall:.2f} s"
                    f" ({wall / papers * 100:.2f} s per 100 papers), {report.written} written,"
                    f" {report.cached} from cache"
                )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=100, help="new papers per run")
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per reply")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 2, 4])
    args = parser.parse_args()
    seconds = extractive(1000)
    print(f"extractive: {seconds * 1000:.0f} ms CPU per 1,000 entries")
    print(f"openai-compatible against 127.0.0.1, {args.latency:g} s per reply:")
    for concurrency in args.concurrency:
        for row in server_run(args.papers, concurrency, args.latency):
            print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
