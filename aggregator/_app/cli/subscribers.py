"""``aggregator subscribers``: list, add and remove readers; process unsubscribe mail.

The config file lists subscribers (edited here as ``sources`` edits sources, through
:mod:`aggregator.config.file`); the database remembers who unsubscribed (one-click, by
mail, or ``remove --keep``), and every send skips them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..._mail import unsubscribe
from ...config import file as configfile
from ...config.mail import FORMATS, normalize_address
from ...core import Aggregator, system_clock
from ...errors import ConfigError
from .app import EXIT_CONFIG, fail, main, settings_of
from .output import clean
from .sources import _config_path, _save


@main.group("subscribers")
def subscribers_group() -> None:
    """List, add and remove digest subscribers; read unsubscribe requests from a mailbox."""


@subscribers_group.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """List the configured subscribers and whether each has unsubscribed."""
    settings = settings_of(ctx)
    left = Aggregator(settings, clock=system_clock).unsubscribes()
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    table = Table(title=f"Subscribers in {settings.origin}", title_justify="left")
    for column in ("email", "name", "categories", "keywords", "format", "receives"):
        table.add_column(column, overflow="fold")
    for subscriber in settings.subscribers:
        gone = left.get(subscriber.email.lower())
        receives = "yes" if gone is None else f"no: unsubscribed {gone.unsubscribed_at[:10]}"
        if gone is not None:
            receives += f" ({gone.via})"
        values = (
            subscriber.email,
            subscriber.name or "",
            ", ".join(subscriber.categories) or "all",
            ", ".join(subscriber.keywords),
            subscriber.format,
            receives,
        )
        table.add_row(*(Text(clean(value)) for value in values))
    console.print(table)
    if settings.email is None and settings.subscribers:
        click.echo("note: there is no [email] table, so nobody is mailed yet.")


@subscribers_group.command("add")
@click.argument("email")
@click.option("--name", help="Display name for the To header.")
@click.option(
    "--category",
    "categories",
    multiple=True,
    metavar="NAME",
    help="Only these categories (repeat for several). Default: all.",
)
@click.option(
    "--keyword",
    "keywords",
    multiple=True,
    metavar="WORD",
    help="Only entries mentioning one of these words (repeat for several).",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    default=None,
    help="html (with a text alternative, the default) or text.",
)
@click.pass_context
def add_command(
    ctx: click.Context,
    email: str,
    name: str | None,
    categories: tuple[str, ...],
    keywords: tuple[str, ...],
    format_: str | None,
) -> None:
    """Add EMAIL as a subscriber to the config file.

    Someone who had unsubscribed and is added again receives the digest again (their
    unsubscribe is forgotten): add only people who asked for it.
    """
    path = _config_path(ctx)
    try:
        address = normalize_address(email)
    except ValueError as err:
        fail(ConfigError(str(err), file=str(path)), EXIT_CONFIG)
    document = configfile.load(path)
    if address.lower() in (a.lower() for a in configfile.subscriber_addresses(document)):
        fail(ConfigError(f"{address} is a subscriber already", file=str(path)), EXIT_CONFIG)
    configfile.add_subscriber(
        document,
        email=address,
        name=name,
        categories=categories,
        keywords=keywords,
        format=format_,
    )
    _save(path, document)
    click.echo(f"Added {address} to {path}.")
    if Aggregator(settings_of(ctx)).resubscribe(address):
        click.echo(f"{address} had unsubscribed; that is forgotten: digests resume.")


@subscribers_group.command("remove")
@click.argument("email")
@click.pass_context
def remove_command(ctx: click.Context, email: str) -> None:
    """Remove the subscriber EMAIL from the config file (their comments go with it)."""
    path = _config_path(ctx)
    document = configfile.load(path)
    if not configfile.remove_subscriber(document, email):
        fail(ConfigError(f"no subscriber {email.strip()!r}", file=str(path)), EXIT_CONFIG)
    _save(path, document)
    click.echo(f"Removed {email.strip()} from {path}.")


_TRUST_FROM_HELP = (
    "Also accept a request without a valid token when it comes from a subscriber's"
    " own address (From can be forged: only for a mailbox your server filters)."
)


@subscribers_group.command("read-mbox")
@click.argument("mbox", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--trust-from", is_flag=True, help=_TRUST_FROM_HELP)
@click.option("--dry-run", is_flag=True, help="Say what would be recorded; record nothing.")
@click.pass_context
def read_mbox_command(ctx: click.Context, mbox: Path, trust_from: bool, dry_run: bool) -> None:
    """Record the unsubscribe requests in MBOX, mail sent to [email] unsubscribe_mailto.

    Each digest's mailto link has the subject "unsubscribe TOKEN", TOKEN being the
    subscriber's signed token: a message whose subject or text holds a valid one
    unsubscribes that subscriber, whoever sent it. Others are listed and ignored.
    Reading again is harmless (an unsubscribe is recorded once). Point it at the mbox
    your mail server delivers that address to (e.g. /var/mail/unsubscribe), from cron.
    """
    settings = settings_of(ctx)
    facade = Aggregator(settings, clock=system_clock)
    messages = unsubscribe.mbox_messages(mbox)
    done = facade.unsubscribe_mail(messages, trust_from=trust_from, dry_run=dry_run)
    _report(done, dry_run, f"Mailbox {mbox}")


@subscribers_group.command("read-imap")
@click.option("--trust-from", is_flag=True, help=_TRUST_FROM_HELP)
@click.option(
    "--dry-run", is_flag=True, help="Say what would be recorded; record nothing, mark nothing."
)
@click.option("--all", "include_seen", is_flag=True, help="Read messages already marked read too.")
@click.pass_context
def read_imap_command(
    ctx: click.Context, trust_from: bool, dry_run: bool, include_seen: bool
) -> None:
    """Record the unsubscribe requests in the IMAP folder [email] unsubscribe_imap names.

    Reads the folder's unread messages (mail sent to unsubscribe_mailto), records each
    request holding a valid token as read-mbox does, then marks those messages read so
    the next run skips them (messages are never deleted). The password comes from the
    variable unsubscribe_imap_password_env names. imaps:// connects over TLS; imap://
    upgrades with STARTTLS, and logs in without TLS only to a server on this machine.
    Run it from cron beside `aggregator run`.
    """
    settings = settings_of(ctx)
    facade = Aggregator(settings, clock=system_clock)
    done = facade.unsubscribe_imap(
        trust_from=trust_from, dry_run=dry_run, include_seen=include_seen
    )
    box = settings.email.unsubscribe_imap if settings.email else None
    _report(done, dry_run, f"IMAP folder {box}")


def _report(done: list[tuple[unsubscribe.MailRequest, bool]], dry_run: bool, where: str) -> None:
    """Say what each message asked and what was recorded."""
    recorded = sum(1 for request, new in done if (request.address and dry_run) or new)
    for request, new in done:
        who = (
            f"{clean(request.sender) or '(no sender)'}: {clean(request.subject) or '(no subject)'}"
        )
        if request.address is None:
            click.echo(f"  ignored {who} ({request.reason})")
        elif dry_run:
            click.echo(f"  would unsubscribe {request.address} ({request.reason}; {who})")
        else:
            state = "unsubscribed" if new else "already unsubscribed"
            click.echo(f"  {state} {request.address} ({request.reason}; {who})")
    what = "would be recorded" if dry_run else "recorded"
    click.echo(f"{where}: {len(done)} messages, {recorded} unsubscribes {what}.")
