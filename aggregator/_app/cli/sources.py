"""``aggregator sources``: list, add and remove sources, OPML import and export, reset.

Edits go through :mod:`aggregator.config.file` (comments and layout of the file are
kept; the result is validated before the file is replaced). Without ``--config`` the
file is ``./aggregator.toml``, created on the first ``add`` or ``import-opml``.
"""

from __future__ import annotations

import re
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text
from tomlkit import TOMLDocument

from ..._common.wording import plural
from ..._sources import opml
from ...config import file as configfile
from ...config.settings import DEFAULT_CONFIG_NAME, load_config
from ...config.sources import KINDS
from ...core import Aggregator
from ...errors import ConfigError, ParseError
from .app import EXIT_CONFIG, config_location, fail, main, settings_of
from .output import clean


def _config_path(ctx: click.Context) -> Path:
    """The file the edit goes into: the config in use (see config.locate), else a new
    ./aggregator.toml."""
    where = config_location(ctx)
    return where.path if where.path is not None else Path.cwd() / DEFAULT_CONFIG_NAME


def _save(path: Path, document: TOMLDocument) -> None:
    created = not path.exists()
    with _run_lock(path):
        configfile.save(path, document)
    if created:
        click.echo(f"Created {path}.")


def _run_lock(path: Path) -> AbstractContextManager[None]:
    """The run lock of the database the config file names now, so that an edit waits
    for a run in progress (a config that does not load yet has no run to wait for)."""
    if not path.exists():
        return nullcontext()
    try:
        settings = load_config(path)
    except ConfigError:
        return nullcontext()
    return Aggregator(settings).locked("sources")


@main.group("sources")
def sources_group() -> None:
    """List, add and remove sources; import and export OPML subscriptions."""


@sources_group.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """List the configured sources: name, kind, URL or path, categories."""
    settings = settings_of(ctx)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    table = Table(title=f"Sources in {settings.origin}", title_justify="left")
    for column in ("name", "kind", "url or path", "categories", "enabled"):
        table.add_column(column, overflow="fold")
    for source in settings.sources:
        # Text, not markup: a URL with "[...]" in it is shown as it is.
        values = (
            source.name,
            source.kind,
            source.location,
            ", ".join(source.categories),
            "yes" if source.enabled else "no",
        )
        table.add_row(*(Text(clean(value)) for value in values))
    console.print(table)


@sources_group.command("add")
@click.argument("name")
@click.argument("location", metavar="URL_OR_PATH")
@click.option(
    "--kind",
    type=click.Choice(list(KINDS)),
    default=None,
    help="What the source is (see the README's source kinds). Default: arxiv for arXiv's"
    " URLs and documents (feeds, export API, listing pages, author feeds), else feed.",
)
@click.option(
    "--category",
    "categories",
    multiple=True,
    metavar="NAME",
    help="Category to file its entries under; repeat for several.",
)
@click.option("--disabled", is_flag=True, help="Add it with enabled = false.")
@click.pass_context
def add_command(
    ctx: click.Context,
    name: str,
    location: str,
    kind: str | None,
    categories: tuple[str, ...],
    disabled: bool,
) -> None:
    """Add a source NAME reading URL_OR_PATH (an http(s) URL or a local file)."""
    path = _config_path(ctx)
    document = configfile.load(path)
    if name in configfile.source_names(document):
        fail(ConfigError(f"a source named {name!r} exists already", file=str(path)), EXIT_CONFIG)
    is_url = location.lower().startswith(("http://", "https://"))
    if "://" in location and not is_url:
        fail(
            ConfigError(
                f"only http(s) URLs or local paths can be sources, not {location!r}",
                file=str(path),
            ),
            EXIT_CONFIG,
        )
    if not is_url and _looks_like_a_host(location, path.resolve().parent):
        fail(
            ConfigError(
                f"{location!r} looks like a web address without https://, not a local path",
                file=str(path),
                hint=f"did you mean https://{location}? For a local path, write ./{location}",
            ),
            EXIT_CONFIG,
        )
    choice = _kind_for(location, kind, path, is_url=is_url, categories=categories)
    configfile.add_source(
        document,
        name=name,
        kind=choice.kind,
        url=location if is_url else None,
        path=None if is_url else location,
        categories=categories,
        enabled=not disabled,
    )
    _save(path, document)
    how = f" ({choice.reason})" if choice.reason else ""
    click.echo(f"Added {name} ({location}) to {path}: kind {choice.kind}{how}.")


def _kind_for(
    location: str, kind: str | None, config: Path, *, is_url: bool, categories: tuple[str, ...]
) -> configfile.KindChoice:
    """The new source's kind (see ``configfile.choose_kind``); warns, or stops when the
    categories asked for cannot be an arxiv source's."""
    head = None
    if not is_url:
        local = config.resolve().parent / location
        try:
            with local.open("rb") as handle:
                head = handle.read(65_536)
        except OSError:
            head = None  # not there yet: the run reports it
    choice = configfile.choose_kind(location, kind, head=head)
    if choice.warning:
        click.echo(f"warning: {clean(choice.warning)}", err=True)
    odd = configfile.not_arxiv_categories(categories) if choice.kind == "arxiv" else ()
    if odd and kind is None:
        fail(
            ConfigError(
                f"{location} is arXiv's ({choice.reason}), whose sources file papers under"
                f" arXiv's categories; {', '.join(map(repr, odd))} is not one",
                file=str(config),
                hint="give arXiv categories such as --category cs.CL, or --kind feed to"
                " file its papers under your own",
            ),
            EXIT_CONFIG,
        )
    return choice


#: A host name (``www.example.org``), maybe with a port, or a name with a port
#: (``localhost:8000``): what a web address starts with when its scheme is left out.
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::[0-9]+)?|[A-Za-z0-9.-]+:[0-9]+)$")


def _looks_like_a_host(location: str, config_folder: Path) -> bool:
    """Whether ``location`` reads as a web address missing its ``https://``.

    Its first segment must look like a host name (dotted, or with a port) and not be
    an existing file or folder (relative paths start at the config file's folder, or
    were typed relative to the current one); a bare ``notes.md`` is a path unless a
    path follows it (``www.example.org/feed.xml``) or it starts with ``www.``.
    """
    first, slash, _ = location.partition("/")
    if not _HOST_RE.match(first):
        return False
    if (config_folder / first).exists() or Path(first).exists():
        return False
    return bool(slash) or ":" in first or first.lower().startswith("www.")


@sources_group.command("remove")
@click.argument("name")
@click.pass_context
def remove_command(ctx: click.Context, name: str) -> None:
    """Remove the source NAME from the config. Its stored entries are kept."""
    path = _config_path(ctx)
    document = configfile.load(path)
    if not configfile.remove_source(document, name):
        fail(ConfigError(f"no source named {name!r}", file=str(path)), EXIT_CONFIG)
    _save(path, document)
    click.echo(f"Removed {name} from {path}; entries it delivered stay published.")


@sources_group.command("import-opml")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(list(KINDS)),
    default=None,
    help="Kind given to every imported source. Default: arxiv for arXiv's URLs, else feed.",
)
@click.option(
    "--category",
    "category",
    metavar="NAME",
    help="File every imported source under NAME instead of its OPML folder or category.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be added; change nothing.")
@click.pass_context
def import_command(
    ctx: click.Context, file: Path, kind: str | None, category: str | None, dry_run: bool
) -> None:
    """Add the feeds of an OPML FILE (as exported by feed readers) as sources.

    Feeds already configured (same URL) are skipped; names are made from the titles.
    """
    path = _config_path(ctx)
    try:
        found = opml.read(file.read_bytes(), origin=str(file))
        document = configfile.load(path)
    except ParseError as err:
        click.echo(f"error: {file}: {err.describe()}", err=True)
        sys.exit(EXIT_CONFIG)
    names = set(configfile.source_names(document))
    urls = {str(t.get("url")) for t in document.get("sources") or [] if t.get("url")}
    added: list[str] = []
    skipped: list[str] = []
    for item in found:
        if not item.url.lower().startswith(("http://", "https://")):
            skipped.append(f"{item.title} (not an http(s) URL: {item.url})")
            continue
        if item.url in urls:
            skipped.append(f"{item.title} (already configured)")
            continue
        name = _unique(opml.slug(item.title), names)
        names.add(name)
        urls.add(item.url)
        categories = (category,) if category else item.categories
        choice = configfile.choose_kind(item.url, kind)
        if choice.warning:
            click.echo(f"warning: {clean(choice.warning)}", err=True)
        how = ""
        if choice.reason:
            how = f" as kind {choice.kind} ({choice.reason})"
            # An arxiv source's categories are arXiv's (from its URL), not folder names.
            dropped = configfile.not_arxiv_categories(categories)
            categories = tuple(c for c in categories if c not in dropped)
            if dropped:
                how += f"; not filed under {', '.join(dropped)}: arXiv's categories are used"
        configfile.add_source(
            document, name=name, kind=choice.kind, url=item.url, categories=categories
        )
        added.append(f"{name} ({item.url}){how}")
    for line in added:
        click.echo(f"{'would add' if dry_run else 'added'}: {line}")
    for line in skipped:
        click.echo(f"skipped: {line}")
    if added and not dry_run:
        _save(path, document)
    verb = "Would import" if dry_run else "Imported"
    click.echo(
        f"{verb} {len(added)} of {plural(len(found), 'feed')} from {file}; {len(skipped)} skipped."
    )


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}-{number}", number + 1
    return candidate


@sources_group.command("export-opml")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export_command(ctx: click.Context, file: Path | None) -> None:
    """Write the URL sources as OPML 2.0 to FILE (default: standard output)."""
    settings = settings_of(ctx)
    data = opml.write(settings.sources, title=f"{settings.publish.title} subscriptions")
    local = [source.name for source in settings.sources if source.url is None]
    if file is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        file.write_bytes(data)
        click.echo(f"Wrote {plural(len(settings.sources) - len(local), 'feed')} to {file}.")
    if local:
        click.echo(f"not exported (local files): {', '.join(local)}", err=True)


@sources_group.command("reset")
@click.argument("names", nargs=-1)
@click.option("--all", "reset_all", is_flag=True, help="Reset every source.")
@click.pass_context
def reset_command(ctx: click.Context, names: tuple[str, ...], reset_all: bool) -> None:
    """Forget failures, rests and 410s of NAMES so the next run asks them again.

    Also forgets their ETag and Last-Modified, so the next run downloads them in full.
    """
    settings = settings_of(ctx)
    known = [source.name for source in settings.sources]
    chosen = known if reset_all else list(names)
    unknown = [name for name in chosen if name not in known]
    if unknown or not chosen:
        what = f"no source named {', '.join(unknown)}" if unknown else "name a source or --all"
        fail(ConfigError(what, file=settings.origin), EXIT_CONFIG)
    Aggregator(settings).reset_sources(chosen)
    click.echo(f"Reset {', '.join(chosen)}: asked again at the next run.")
