"""The long-running commands: ``schedule`` (jobs from [schedule]) and ``serve`` (HTTP)."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from urllib.parse import parse_qs

import click

from ..._output import front, search_page
from ...config.serve import SERVE_SCHEMA, ServeSettings
from ...config.settings import Settings
from ...core import Aggregator, system_clock
from ...errors import AggregatorError
from .. import schedule as scheduling
from ..cron import fire_times
from ..serve import FeedServer, is_loopback
from ..unsubscribe_http import Unsubscriber
from .app import EXIT_CONFIG, main, settings_of


def _log_info(*names: str) -> None:
    """Let these loggers' INFO lines through even without --verbose: they are the output."""
    for name in names:
        logging.getLogger(name).setLevel(logging.INFO)


@main.command("schedule")
@click.option(
    "--next",
    "show_next",
    type=click.IntRange(min=1, max=1000),
    metavar="N",
    help="Print the next N times of each job (in [digest].timezone) and exit, instead of running.",
)
@click.pass_context
def schedule_command(ctx: click.Context, show_next: int | None) -> None:
    """Run the [schedule] jobs in the foreground until SIGTERM or SIGINT.

    Each job takes the same lock as `aggregator run`, so cron, a person and the
    scheduler never work at once. Logs go to standard error.
    """
    settings = settings_of(ctx)
    if not settings.schedule.jobs:
        click.echo(
            f'error: {settings.origin}: schedule: every job is empty (set e.g. run = "30 6 * * *")',
            err=True,
        )
        sys.exit(EXIT_CONFIG)
    if show_next:
        scheduler = scheduling.build_scheduler(settings)
        now = datetime.now(UTC)
        for job in scheduler.get_jobs():
            click.echo(f"{job.name}:")
            for when in fire_times(job.trigger, now, show_next):
                click.echo(f"  {when.isoformat(sep=' ')}")
        return
    _log_info("aggregator._app.schedule")
    scheduling.serve_forever(settings)


def _limit_help(key: str) -> str:
    """An option's help: the [serve] key's, and where its default comes from."""
    text = SERVE_SCHEMA[key][2]
    default = getattr(ServeSettings(), key)
    return f"{text[0].upper()}{text[1:]}.  [default: [serve] {key}, else {default:g}]"


@main.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback serves the feeds to the network "
    "(a warning is printed); put a TLS reverse proxy in front for the internet.",
)
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free port, printed at start).",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    metavar="N",
    help=_limit_help("max_connections"),
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help=_limit_help("header_timeout"),
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help=_limit_help("idle_timeout"),
)
@click.option(
    "--write-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help=_limit_help("write_timeout"),
)
@click.pass_context
def serve_command(
    ctx: click.Context,
    host: str,
    port: int,
    max_connections: int | None,
    header_timeout: float | None,
    idle_timeout: float | None,
    write_timeout: float | None,
) -> None:
    """Serve the output folder (feeds, digests, index page) over HTTP.

    For feed readers and browsers on this machine or the local network: it has no TLS
    and no login. Answers conditional requests with 304 (ETag, Last-Modified) and gzips
    for clients that accept it, so feed readers can poll cheaply; sends security
    headers (Content-Security-Policy and others) with every response; drops clients
    that are too slow to send a request or to read the answer. With an [email] table
    it also answers /unsubscribe: the one-click (RFC 8058) unsubscribe links of the
    digests. Stops on SIGTERM or SIGINT.
    """
    settings = settings_of(ctx)
    limits = _serve_limits(
        settings.serve,
        max_connections=max_connections,
        header_timeout=header_timeout,
        idle_timeout=idle_timeout,
        write_timeout=write_timeout,
    )
    # One-click unsubscribing (/unsubscribe) when digests are mailed.
    unsubscriber = Aggregator(settings) if settings.email is not None else None
    server = _open_server(
        settings.publish.output_dir,
        host,
        port,
        limits,
        unsubscriber,
        search=_search_page(settings),
    )
    _log_info("aggregator._app.serve")
    _serve_until_stopped(server, settings.publish.output_dir)


def _search_page(settings: Settings) -> Callable[[str], str]:
    """The /search page for a query string: the facade's results, rendered."""
    aggregator = Aggregator(settings, clock=system_clock)

    def page(query_string: str) -> str:
        try:
            categories = aggregator.category_names()
        except AggregatorError:
            categories = []
        params = parse_qs(query_string, max_num_fields=20)
        request = search_page.read_request(params, categories=categories)
        results, error = None, None
        if request.query:
            try:
                results = aggregator.search(
                    request.query,
                    category=request.category or None,
                    limit=search_page.PAGE_SIZE,
                    offset=(request.page - 1) * search_page.PAGE_SIZE,
                )
            except AggregatorError as err:
                error = err.describe()
        return search_page.render(
            request,
            results=results,
            error=error,
            categories=categories,
            title=settings.publish.title,
        )

    return page


def _open_server(
    root: Path,
    host: str,
    port: int,
    limits: ServeSettings,
    unsubscriber: Unsubscriber | None = None,
    *,
    search: Callable[[str], str] | None = None,
) -> FeedServer:
    """The server, listening; warns when it is reachable from other machines or serves
    fewer connections than asked."""
    if not root.is_dir():
        raise AggregatorError(
            f"nothing to serve yet: {root} does not exist",
            hint="run `aggregator run` first, or check [publish].output_dir",
        )
    try:
        server = FeedServer(
            root,
            (host, port),
            settings=limits,
            search=search,
            front_page=front.with_search_box,
            unsubscriber=unsubscriber,
        )
    except OSError as err:
        raise AggregatorError(
            f"cannot listen on {host}:{port}: {err.strerror or err}",
            hint="is another server using the port? try --port",
        ) from err
    if not is_loopback(host):
        click.echo(
            f"warning: listening on {host}, not loopback: anyone who can reach this machine"
            " can read the feeds and digests",
            err=True,
        )
    if server.max_connections < limits.max_connections:
        click.echo(
            f"warning: serving at most {server.max_connections} connections at once, not"
            f" {limits.max_connections}: the limit on open files is too low for more"
            " (raise it with `ulimit -n` or systemd's LimitNOFILE=)",
            err=True,
        )
    return server


def _serve_until_stopped(server: FeedServer, root: Path) -> None:
    def stop(_signum: int, _frame: FrameType | None) -> None:
        # SIGTERM ends the server as Ctrl-C (SIGINT) does. (server.shutdown() would wait
        # for serve_forever() on this very thread, and starting a thread from a signal
        # handler can deadlock.)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    click.echo(f"Serving {root} at {server.url} (Ctrl-C to stop)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
    click.echo("Stopped.", err=True)


def _serve_limits(config: ServeSettings, **options: float | None) -> ServeSettings:
    """The [serve] settings, with the options given on the command line instead."""
    given = {name: value for name, value in options.items() if value is not None}
    return replace(config, **given)  # type: ignore[arg-type]
