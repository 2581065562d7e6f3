"""aggregator: feeds and daily lists in, deduplicated Atom feeds and email digests out.

The public surface is the CLI (``aggregator._app.cli``), :func:`aggregator.core.run`,
the settings loader :func:`aggregator.config.settings.load_config` and the errors in
:mod:`aggregator.errors`.
"""

__version__ = "0.1.0"
