"""The shape of the config's tables of keys, and checking a TOML table against one.

A schema maps each key of a table to its type, default and help text (the help is
what ``config/example.toml`` documents; tests check every key is there). Owns the
type check and the unknown-key check every table shares (``settings``, ``mail``,
``serve``); the rules about values are each table's own. Reads nothing itself.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

#: One key: (type or types, default, help).
Key = tuple[type | tuple[type, ...], Any, str]
Schema = dict[str, Key]


def check_type(value: Any, expected: type | tuple[type, ...], *, file: str, key: str) -> None:
    """Raise ConfigError unless ``value`` has the ``expected`` type (a bool is no number)."""
    # bool is an int in Python; a boolean where a number is expected is still a mistake.
    ok = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
    if not ok:
        names = (
            " or ".join(t.__name__ for t in expected)
            if isinstance(expected, tuple)
            else expected.__name__
        )
        raise ConfigError(
            f"expected {names}, got {type(value).__name__} {value!r}", file=file, key=key
        )


def typed_table(
    table: Any, schema: Schema, *, file: str, where: str, label: str | None = None
) -> dict[str, Any]:
    """Every key of ``schema`` with its value from ``table`` or its default, type-checked.

    ``where`` prefixes the keys in messages (``fetch.timeout``, ``sources[0].url``);
    ``label`` names a top-level table (``[fetch]``) where it is not a table, and in
    the list of known keys. An unknown key is a ConfigError.
    """
    if not isinstance(table, dict):
        raise ConfigError("expected a table", file=file, key=label or where)
    for key in table:
        if key not in schema:
            raise ConfigError(
                "unknown key",
                file=file,
                key=f"{where}.{key}",
                hint=f"known keys{f' in {label}' if label else ''}: {', '.join(schema)}",
            )
    values: dict[str, Any] = {}
    for key, (typ, default, _help) in schema.items():
        value = table.get(key, default)
        if value is not None:
            check_type(value, typ, file=file, key=f"{where}.{key}")
        values[key] = value
    return values
