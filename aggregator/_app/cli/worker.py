"""``aggregator worker`` and ``aggregator queue``: the job queue's commands.

Parses options and prints; the facade runs the worker (``Aggregator.work``) and
applies or reads the queue (``Aggregator.queue_init``, ``Aggregator.queue_status``).
"""

from __future__ import annotations

import logging

import click

from ...core import Aggregator, system_clock
from .app import main, settings_of
from .output import echo


@main.command("worker")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=256),
    metavar="N",
    help="Jobs to run at once, each in a thread (default: [queue] concurrency). For more"
    " cores, start more workers instead.",
)
@click.option(
    "--name",
    metavar="NAME",
    help="This worker's name in logs and results (default: HOST:PID).",
)
@click.pass_context
def worker_command(ctx: click.Context, concurrency: int | None, name: str | None) -> None:
    """Fetch and parse the sources that runs queue, until SIGTERM or SIGINT.

    Needs [queue] enabled and PostgreSQL storage; start any number, on any machine that
    reaches the database, each with the run's config file. Each job fetches one
    source (per-host limits hold across all workers), reads it and hands it back;
    `aggregator run` stores, publishes and mails. On SIGTERM the jobs in hand finish
    first; a worker killed outright loses nothing: a waiting run queues its jobs again.
    Logs go to standard error.
    """
    settings = settings_of(ctx)
    for logger in ("aggregator._update.queue", "procrastinate.worker"):
        logging.getLogger(logger).setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(name)s: %(message)s")
    Aggregator(settings, clock=system_clock).work(concurrency=concurrency, name=name)


@main.group("queue")
def queue_group() -> None:
    """The job queue in the PostgreSQL database ([queue], `aggregator worker`)."""


@queue_group.command("init")
@click.pass_context
def queue_init_command(ctx: click.Context) -> None:
    """Create the job queue's tables in the database (safe to run again).

    A run and a worker also create them when missing; this does it ahead, e.g. from a
    deployment script, with the database's own migrations.
    """
    created = Aggregator(settings_of(ctx), clock=system_clock).queue_init()
    echo("Created the job queue." if created else "The job queue is there already.")


@queue_group.command("status")
@click.pass_context
def queue_status_command(ctx: click.Context) -> None:
    """Print the queue's jobs by status and how many workers are alive."""
    status = Aggregator(settings_of(ctx), clock=system_clock).queue_status()
    if not status["schema"]:
        echo("No job queue yet (`aggregator queue init`, or the first queued run, makes it).")
        return
    jobs = ", ".join(f"{count} {state}" for state, count in status["jobs"].items()) or "none"
    echo(f"Jobs: {jobs}")
    echo(f"Workers: {status['workers']} alive, {status['stalled_workers']} stalled")
