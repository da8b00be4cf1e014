"""pandas for analysts: the store's posts and alerts as DataFrames, in one line.

    from pipeline.frame import load_posts, load_alerts, counts_over_time, top_terms
    df = load_posts(scheme="water-supply", since="2024-05-01", until="2024-05-07", sentiment="negative")

The first argument is a store, a store URL, a loaded ``Settings`` or a ``yuqing.yaml``
path; by default the configuration is found from the working folder upwards
(``YUQING_STORE`` overrides its store, as everywhere). Filters run in the store (SQL, or an
Elasticsearch bool query paged with point-in-time); this module only shapes the result:
times are tz-aware Asia/Shanghai, platform/source/sentiment are categoricals, engagement is
one int column per count, schemes and keywords are lists. Naive ``since``/``until`` are
Beijing time; a bare ``until`` date includes that whole day.

``load_stories`` gives the stories (near-duplicate groups) the same way; posts carry
their story in ``cluster``, so ``df.groupby("cluster")`` joins the two.
When posts carry extra fields they appear here as columns.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipeline.config import DEFAULT_CONFIG, Settings, load_settings, parse_duration
from pipeline.errors import YuqingError
from pipeline.store import AlertRecord, Post, PostFilter, Store, Terms, open_store, store_for
from pipeline.stories import RUMOUR_ZH, VERIFICATION_ZH
from pipeline.timeutil import parse_when

TZ = ZoneInfo("Asia/Shanghai")
LABELS = ("negative", "neutral", "positive")
LABELS_ZH = {"negative": "负面", "neutral": "中性", "positive": "正面"}
ENGAGEMENT = ("reposts", "comments", "likes", "views")
# Weibo calls likes "attitudes"; both land in ``likes``.
_ENGAGEMENT_KEYS = {"reposts": ("reposts",), "comments": ("comments",), "likes": ("likes", "attitudes"),
                    "views": ("views",)}
POST_COLUMNS = ("id", "published_at", "platform", "source", "author", "title", "text", "url", "sentiment",
                "sentiment_score", *ENGAGEMENT, "reach", "keywords", "schemes", "crawled_at", "modified_at",
                "published_precision", "text_truncated", "dup_of", "repost_of", "cluster", "category", "source_tier",
                "verification", "rumour")
# Kept out of the frame: the search index's word list (tokens) and the raw nested dicts
# already expanded into columns.
_NOT_COLUMNS = {"tokens", "engagement", "first_seen_at", "platform_id", "sentiment_label", "lsh"}
ALERT_COLUMNS = ("key", "scheme_id", "scheme_name", "kind", "level", "window_start", "window_end", "count",
                 "baseline", "threshold", "why", "status", "created_at", "payload")
StoreLike = Store | Settings | str | Path | None


def find_config(start: Path | None = None) -> Path:
    """``YUQING_CONFIG``, else ``config/yuqing.yaml`` in the working folder or a parent
    (notebooks run from ``notebooks/``)."""
    if os.environ.get("YUQING_CONFIG"):
        return Path(os.environ["YUQING_CONFIG"])
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DEFAULT_CONFIG).is_file():
            return folder / DEFAULT_CONFIG
    raise YuqingError(f"no {DEFAULT_CONFIG} in {here} or its parents; pass a store URL or set YUQING_CONFIG")


@contextmanager
def opened(store_or_config: StoreLike = None) -> Iterator[tuple[Store, ZoneInfo]]:
    """The store to read and the analysts' time zone; closes only what it opened."""
    if store_or_config is not None and not isinstance(store_or_config, Settings | str | Path):
        yield store_or_config, TZ
        return
    if isinstance(store_or_config, str) and store_or_config.startswith(("sqlite:", "http://", "https://")):
        store = open_store(store_or_config, create=False)
        tz = TZ
    else:
        settings = (store_or_config if isinstance(store_or_config, Settings)
                    else load_settings(store_or_config if store_or_config is not None else find_config()))
        store, tz = store_for(settings, create=False), settings.tz
    try:
        yield store, tz
    finally:
        store.close()


def post_filter(tz: ZoneInfo, *, scheme: str | None = None, since: Any = None, until: Any = None,
                sentiment: Terms = None, platform: Terms = None, source: Terms = None,
                query: str | None = None, category: Terms = None, verification: Terms = None) -> PostFilter:
    """Analyst arguments → the store's filter; bad dates and labels raise YuqingError."""
    for label in (sentiment,) if isinstance(sentiment, str) else (sentiment or ()):
        if label not in LABELS:
            raise YuqingError(f"sentiment {label!r}: use one of {', '.join(LABELS)}")
    for level in (verification,) if isinstance(verification, str) else (verification or ()):
        if level not in VERIFICATION_ZH:
            raise YuqingError(f"verification {level!r}: use one of {', '.join(VERIFICATION_ZH)}")
    try:
        start = parse_when(since, tz) if since is not None else None
        end = parse_when(until, tz, end=True) if until is not None else None
    except (ValueError, TypeError) as exc:
        raise YuqingError(str(exc)) from None
    if start and end and end <= start:
        raise YuqingError(f"until ({end.isoformat()}) is not after since ({start.isoformat()})")
    return PostFilter(scheme=scheme, label=sentiment, start=start, end=end, platform=platform, source=source,
                      query=query, category=category, verification=verification)


def load_posts(store_or_config: StoreLike = None, *, scheme: str | None = None, since: Any = None,
               until: Any = None, sentiment: Terms = None, platform: Terms = None, source: Terms = None,
               query: str | None = None, category: Terms = None, verification: Terms = None,
               limit: int | None = None, order: str = "oldest",
               progress: Callable[[Iterable[Post]], Iterable[Post]] | None = None) -> pd.DataFrame:
    """Posts as a DataFrame (one row a post, oldest first); see the module docstring.

    ``progress`` wraps the stream of posts (e.g. a tqdm bar) for long pulls."""
    with opened(store_or_config) as (store, tz):
        flt = post_filter(tz, scheme=scheme, since=since, until=until, sentiment=sentiment, platform=platform,
                          source=source, query=query, category=category, verification=verification)
        posts: Iterable[Post] = store.iter_posts(flt, order=order, limit=limit)
        return posts_frame(progress(posts) if progress else posts, tz)


def posts_frame(posts: Iterable[Post], tz: ZoneInfo = TZ) -> pd.DataFrame:
    """Store posts (dicts) → the typed DataFrame, empty or not, with the same columns."""
    rows = []
    extra: dict[str, None] = {}
    for p in posts:
        sentiment = p.get("sentiment") or {}
        engagement = p.get("engagement") or {}
        row = {k: v for k, v in p.items() if k not in _NOT_COLUMNS and k != "sentiment"}
        row["sentiment"] = sentiment.get("label")
        row["sentiment_score"] = sentiment.get("score")
        for column, keys in _ENGAGEMENT_KEYS.items():
            row[column] = sum(int(engagement.get(k) or 0) for k in keys)
        row["reach"] = int(p.get("reach") if p.get("reach") is not None else sum(engagement.values()))
        rows.append(row)
        extra.update((k, None) for k in row if k not in POST_COLUMNS)
    df = pd.DataFrame(rows, columns=[*POST_COLUMNS, *extra])
    for column in ("published_at", "crawled_at", "modified_at"):
        df[column] = pd.to_datetime(df[column].replace("", None), utc=True, format="ISO8601").dt.tz_convert(tz)
    df["sentiment"] = pd.Categorical(df["sentiment"], categories=LABELS)
    for column in ("platform", "source", "category", "source_tier"):
        df[column] = df[column].astype("category")
    df["verification"] = pd.Categorical(df["verification"], categories=list(VERIFICATION_ZH))
    df["rumour"] = pd.Categorical(df["rumour"], categories=list(RUMOUR_ZH))
    for column in (*ENGAGEMENT, "reach"):
        df[column] = df[column].fillna(0).astype("int64")
    df["sentiment_score"] = df["sentiment_score"].astype("float64")
    df["text_truncated"] = [v is True or v == 1 for v in df["text_truncated"]]
    for column in ("keywords", "schemes"):
        df[column] = [list(v) if isinstance(v, list | tuple) else [] for v in df[column]]
    return df


STORY_COLUMNS = ("cluster", "title", "first_published_at", "last_published_at", "size", "copies", "n_sources",
                 "sources", "platforms", "reach", "negative", "neutral", "positive", "category", "verification",
                 "verification_reason", "rumour", "rumour_reason", "keywords", "schemes", "first_source",
                 "first_url", "first_post_id", "debunked_by")


def load_stories(store_or_config: StoreLike = None, *, scheme: str | None = None, since: Any = None,
                 until: Any = None, rumour: str | None = None, min_size: int = 1, limit: int | None = None,
                 order: str = "reach") -> pd.DataFrame:
    """Stories active in ``[since, until)`` (first post before ``until``, last after ``since``),
    biggest first (``order``: reach | negative | recent); the store does the filtering."""
    if rumour is not None and rumour not in RUMOUR_ZH:
        raise YuqingError(f"rumour {rumour!r}: use one of {', '.join(RUMOUR_ZH)}")
    with opened(store_or_config) as (store, tz):
        start = parse_when(since, tz) if since is not None else None
        end = parse_when(until, tz, end=True) if until is not None else None
        stories = store.find_stories(scheme=scheme, start=start, end=end, rumour=rumour, min_size=min_size,
                                     limit=limit, order=order)
    return stories_frame(stories, tz)


def stories_frame(stories: Iterable[dict[str, Any]], tz: ZoneInfo = TZ) -> pd.DataFrame:
    rows = []
    for s in stories:
        mix = s.get("sentiment") or {}
        rows.append({**{k: s.get(k) for k in STORY_COLUMNS}, "n_sources": len(s.get("sources") or []),
                     "negative": int(mix.get("negative", 0)), "neutral": int(mix.get("neutral", 0)),
                     "positive": int(mix.get("positive", 0))})
    df = pd.DataFrame(rows, columns=list(STORY_COLUMNS))
    for column in ("first_published_at", "last_published_at"):
        df[column] = pd.to_datetime(df[column].replace("", None), utc=True, format="ISO8601").dt.tz_convert(tz)
    for column in ("size", "copies", "n_sources", "reach", "negative", "neutral", "positive"):
        df[column] = df[column].fillna(0).astype("int64")
    df["category"] = df["category"].astype("category")
    df["verification"] = pd.Categorical(df["verification"], categories=list(VERIFICATION_ZH))
    df["rumour"] = pd.Categorical(df["rumour"], categories=list(RUMOUR_ZH))
    for column in ("sources", "platforms", "keywords", "schemes", "debunked_by"):
        df[column] = [list(v) if isinstance(v, list | tuple) else [] for v in df[column]]
    return df


def load_alerts(store_or_config: StoreLike = None, *, scheme: str | None = None, since: Any = None,
                until: Any = None, kind: str | None = None, status: str | None = None) -> pd.DataFrame:
    """Alert records (one row an alert) whose window starts in ``[since, until)``, oldest first.

    Alerts are few (one per spike), so the store returns them all and the filter runs here."""
    with opened(store_or_config) as (store, tz):
        start = parse_when(since, tz) if since is not None else None
        end = parse_when(until, tz, end=True) if until is not None else None
        records = [a for a in store.alerts(status) if (scheme is None or a.scheme_id == scheme)
                   and (kind is None or a.kind == kind)
                   and (start is None or a.window_start >= start) and (end is None or a.window_start < end)]
    return alerts_frame(records, tz)


def alerts_frame(records: Iterable[AlertRecord], tz: ZoneInfo = TZ) -> pd.DataFrame:
    rows = [{"key": a.key, "scheme_id": a.scheme_id, "scheme_name": a.payload.get("scheme_name", a.scheme_id),
             "kind": a.kind, "level": a.payload.get("level"), "window_start": a.window_start,
             "window_end": a.window_end, "count": a.count, "baseline": a.baseline, "threshold": a.threshold,
             "why": a.why, "status": a.status, "created_at": a.created_at, "payload": a.payload} for a in records]
    df = pd.DataFrame(rows, columns=list(ALERT_COLUMNS))
    for column in ("window_start", "window_end", "created_at"):
        df[column] = pd.to_datetime(df[column], utc=True).dt.tz_convert(tz)
    for column in ("scheme_id", "kind", "status"):
        df[column] = df[column].astype("category")
    df["count"] = df["count"].astype("int64")
    df[["baseline", "threshold"]] = df[["baseline", "threshold"]].astype("float64")
    return df.sort_values("window_start", kind="stable").reset_index(drop=True)


def counts_over_time(store_or_config: StoreLike = None, *, window: str | timedelta = "1d", by: str | None = "label",
                     scheme: str | None = None, since: Any = None, until: Any = None, sentiment: Terms = None,
                     platform: Terms = None, source: Terms = None, query: str | None = None,
                     category: Terms = None) -> pd.DataFrame:
    """Posts per window (Beijing-aligned), one column per ``by`` value (label, platform, source, category;
    ``None``: one column ``posts``), counted by the store (``date_histogram`` with
    ``time_zone`` on Elasticsearch). Windows without posts are rows of zeros."""
    step = parse_duration(window)
    with opened(store_or_config) as (store, tz):
        flt = post_filter(tz, scheme=scheme, since=since, until=until, sentiment=sentiment, platform=platform,
                          source=source, query=query, category=category)
        counts = store.histogram(flt, window=step, tz=tz, by=by)
    series = pd.Series(counts, dtype="int64")
    if series.empty:
        columns = list(LABELS) if by == "label" else (["posts"] if by is None else [])
        return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], tz=tz, name="window"), dtype="int64")
    df = series.unstack(fill_value=0)
    df.index = pd.DatetimeIndex(df.index, name="window").tz_convert(tz)
    if by is None:
        df.columns = ["posts"]
    elif by == "label":
        df = df.reindex(columns=list(LABELS), fill_value=0)
    full = _window_range(df.index.min(), df.index.max(), step, tz)
    return df.reindex(full, fill_value=0).rename_axis("window").rename_axis(columns=by)


def _window_range(first: pd.Timestamp, last: pd.Timestamp, step: timedelta, tz: ZoneInfo) -> pd.DatetimeIndex:
    """Every window start from first to last, stepping in wall time (days stay at midnight)."""
    out, t = [], first.to_pydatetime()
    while t <= last.to_pydatetime():
        out.append(t)
        t = (t.replace(tzinfo=None) + step).replace(tzinfo=tz)
    return pd.DatetimeIndex(out, name="window").tz_convert(tz)


def top_terms(store_or_config: StoreLike = None, *, field: str = "keywords", size: int = 20,
              scheme: str | None = None, since: Any = None, until: Any = None, sentiment: Terms = None,
              platform: Terms = None, source: Terms = None, query: str | None = None,
              category: Terms = None) -> pd.DataFrame:
    """The most frequent keywords (or sources, platforms, authors, schemes) among matching
    posts, counted by the store: columns ``term`` and ``posts``."""
    with opened(store_or_config) as (store, tz):
        flt = post_filter(tz, scheme=scheme, since=since, until=until, sentiment=sentiment, platform=platform,
                          source=source, query=query, category=category)
        terms = store.term_counts(flt, field=field, size=size)
    return pd.DataFrame(terms, columns=["term", "posts"]).astype({"posts": "int64"})

