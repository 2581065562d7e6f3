"""Storage: the only package that speaks SQL.

``sqlite`` is the implementation: schema and migrations, transactions, and queries
named for what they mean. Business rules (what is new, what goes into a digest) live in
the stages, never here.
"""

from .sqlite import Store

__all__ = ["Store"]
