"""The only package that speaks SQL: schema, migrations, upserts and queries.

Holds no business rules: it applies the plans the update stage made (``plans``) and
answers questions named for what they mean (entries of a category, of a digest day, ...).
Every write happens inside a transaction, so a crash leaves the database as it
was before the batch or after it, never in between. Each concern is one mixin
module (entries, runs and sources, ...); :class:`Store` combines them.
"""

from __future__ import annotations

from .articles import ArticleQueries
from .arxiv import ArxivQueries
from .check import RepairQueries
from .deliveries import Delivery, DeliveryQueries
from .documents import DocumentQueries
from .dupes import DuplicateQueries
from .entries import EntryQueries
from .health import HealthQueries
from .plans import PlanQueries
from .published import PublishedQueries
from .ranking import RankingQueries
from .retention import PruneResult, RetentionQueries
from .runs import RunQueries, SourceHealth
from .schema import MIGRATIONS
from .search import SearchQueries
from .subscribers import SubscriberQueries, Unsubscribe
from .summaries import SummaryQueries


class Store(
    PlanQueries,
    SearchQueries,
    EntryQueries,
    RunQueries,
    HealthQueries,
    ArxivQueries,
    DeliveryQueries,
    RetentionQueries,
    DuplicateQueries,
    DocumentQueries,
    PublishedQueries,
    RankingQueries,
    RepairQueries,
    SummaryQueries,
    SubscriberQueries,
    ArticleQueries,
):
    """A SQLite database holding entries, their categories and sources, and runs."""


__all__ = [
    "MIGRATIONS",
    "Delivery",
    "PruneResult",
    "SourceHealth",
    "Store",
    "Unsubscribe",
]
