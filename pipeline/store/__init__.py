"""Stores: one small interface, SQLite (embedded default) and Elasticsearch.

``open_store(url)`` picks the implementation from the URL: ``sqlite:///path.db`` (or
``sqlite://:memory:``) and ``http(s)://host:9200``; ``store_for(settings)`` does it for a
loaded configuration.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pipeline.config import ElasticConfig, Settings
from pipeline.errors import ConfigError

Post = dict[str, Any]


@dataclass
class WriteResult:
    inserted: int = 0
    updated: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AlertRecord:
    """One alert as decided by the checker; ``key`` makes it exactly-once."""

    key: str
    scheme_id: str
    kind: str
    window_start: datetime
    window_end: datetime
    count: int
    baseline: float
    threshold: float
    why: str
    payload: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"
    created_at: datetime | None = None
    detail: str = ""  # where it went, or why delivery failed ("attempt N: …")
    updated_at: datetime | None = None


Terms = str | Sequence[str] | None


def _terms(value: Terms) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class PostFilter:
    """Which posts a read wants; every store turns it into its own server-side query.

    ``label``, ``platform``, ``source``, ``category`` and ``verification`` take one value or
    several (any of them);
    ``start``/``end`` are aware datetimes, ``[start, end)`` on ``published_at``;
    ``query`` searches the jieba tokens (all words must occur).
    """

    scheme: str | None = None
    label: Terms = None
    start: datetime | None = None
    end: datetime | None = None
    platform: Terms = None
    source: Terms = None
    query: str | None = None
    category: Terms = None
    verification: Terms = None

    @property
    def categories(self) -> tuple[str, ...]:
        return _terms(self.category)

    @property
    def verifications(self) -> tuple[str, ...]:
        return _terms(self.verification)

    @property
    def labels(self) -> tuple[str, ...]:
        return _terms(self.label)

    @property
    def platforms(self) -> tuple[str, ...]:
        return _terms(self.platform)

    @property
    def sources(self) -> tuple[str, ...]:
        return _terms(self.source)


# What ``histogram(by=...)`` and ``term_counts(field=...)`` may group on.
GROUP_FIELDS = ("label", "platform", "source", "category")
TERM_FIELDS = ("keywords", "source", "platform", "author", "schemes", "category")


class Store(Protocol):
    """What the Processor, the alert checker and the notebooks need from a store."""

    def upsert_posts(self, posts: Sequence[Post]) -> WriteResult: ...

    def count_posts(self) -> int: ...

    def known_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these post ids are stored (spiders skip articles they already have)."""
        ...

    def find_posts(self, *, scheme: str | None = None, label: str | None = None, start: datetime | None = None,
                   end: datetime | None = None, limit: int | None = None, order: str = "published",
                   query: str | None = None) -> list[Post]:
        """Posts matching all filters; ``query`` searches the jieba tokens; ``order``: published|oldest|reach."""
        ...

    def iter_posts(self, flt: PostFilter | None = None, *, order: str = "oldest", limit: int | None = None,
                   batch_size: int = 1000) -> Iterator[Post]:
        """Every matching post, fetched in batches (large pulls: point-in-time / keyset pages)."""
        ...

    def count_matching(self, flt: PostFilter | None = None) -> int:
        """How many posts ``flt`` selects, counted by the store."""
        ...

    def histogram(self, flt: PostFilter | None = None, *, window: timedelta, tz: ZoneInfo,
                  by: str | None = None) -> dict[tuple[datetime, str | None], int]:
        """Posts per ``window`` (aligned in ``tz``) and per ``by`` value (one of GROUP_FIELDS)."""
        ...

    def term_counts(self, flt: PostFilter | None = None, *, field: str = "keywords",
                    size: int = 20) -> list[tuple[str, int]]:
        """The most frequent values of ``field`` (one of TERM_FIELDS) among matching posts."""
        ...

    def window_counts(self, *, start: datetime, end: datetime, window: timedelta, tz: ZoneInfo,
                      scheme: str | None = None, label: str | None = None,
                      stories: bool = False) -> dict[datetime, int]:
        """Posts (or distinct stories) per window, windows aligned in ``tz``."""
        ...

    def time_range(self) -> tuple[datetime, datetime] | None: ...

    # Stories (pipeline.stories): the near-duplicate index lives in the store, so every
    # process writing to it, and every restart, places copies in the same stories.
    def cluster_assignments(self, ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """(cluster, dup_of) of the given posts that are stored with a story."""
        ...

    def near_dup_candidates(self, queries: Sequence[tuple[Sequence[str], datetime, datetime]],
                            per_query: int = 200) -> list[list[Post]]:
        """Per (LSH keys, start, end): stored posts sharing a key, published in the span."""
        ...

    def cluster_posts(self, clusters: Sequence[str]) -> list[Post]: ...

    def update_posts(self, fields_by_id: dict[str, dict[str, Any]]) -> None:
        """Story-derived fields (verification, rumour, category) on stored posts."""
        ...

    def upsert_stories(self, stories: Sequence[dict[str, Any]]) -> None: ...

    def find_stories(self, *, scheme: str | None = None, start: datetime | None = None,
                     end: datetime | None = None, clusters: Sequence[str] | None = None, rumour: str | None = None,
                     min_size: int = 1, limit: int | None = None, order: str = "reach") -> list[dict[str, Any]]:
        """Stories active in [start, end); ``order``: reach (size) | negative | recent."""
        ...

    def last_crawled(self, source: str) -> datetime | None: ...

    def stats(self) -> dict[str, Any]: ...

    def claim_alert(self, alert: AlertRecord) -> bool: ...

    def last_alert(self, scheme_id: str, kind: str) -> AlertRecord | None: ...

    def set_alert_status(self, key: str, status: str, detail: str = "") -> None: ...

    def alerts(self, status: str | None = None) -> list[AlertRecord]: ...

    def get_state(self, key: str) -> Any: ...

    def set_state(self, key: str, value: Any) -> None: ...

    def try_lock(self, name: str, holder: str, ttl: timedelta, now: datetime) -> bool: ...

    def record_health(self, source: str, kind: str, detail: str, at: datetime | None = None) -> None: ...

    def health_events(self, source: str | None = None) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


def open_store(url: str, elastic: ElasticConfig | None = None, templates: Path | None = None,
               create: bool = True) -> Store:
    """The store for a URL; ``elastic`` and ``templates`` (the config folder's
    elasticsearch/) are used for http(s) URLs. ``create=False`` refuses to start an empty
    SQLite file, so a typo in the path is an error rather than an empty result."""
    if url.startswith("sqlite:"):
        from pipeline.store.sqlite import SQLiteStore
        return SQLiteStore.from_url(url, create=create)
    if url.startswith(("http://", "https://")):
        from pipeline.store.elastic import ElasticStore
        return ElasticStore(url, elastic or ElasticConfig(), templates)
    raise ConfigError(f"store: {url!r} is not a store URL; use sqlite:///path.db or http://host:9200")


def store_for(settings: Settings, create: bool = True) -> Store:
    """The store a loaded configuration names (YUQING_STORE already applied)."""
    es = settings.app.elasticsearch
    return open_store(settings.app.store, es, settings.resolve(es.templates), create=create)
