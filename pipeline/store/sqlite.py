"""The embedded store: one SQLite file, WAL, upsert by stable id, FTS5 over tokens.

Posts are rows keyed by their stable id; a re-crawl updates engagement, sentiment and
schemes in place and keeps ``first_seen_at``. ``post_schemes`` holds one row per
(scheme, post) with the publish time and label, indexed for the alert queries.
Alert keys are a primary key, so two checkers racing on one file send one e-mail.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.errors import StoreUnavailable
from pipeline.store import GROUP_FIELDS, TERM_FIELDS, AlertRecord, Post, PostFilter, WriteResult
from pipeline.timeutil import parse_utc, window_start

SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    source TEXT,
    platform_id TEXT,
    url TEXT,
    title TEXT,
    text TEXT,
    author TEXT,
    published_at TEXT,
    published_ts INTEGER,
    published_precision TEXT,
    crawled_at TEXT,
    first_seen_at TEXT NOT NULL,
    engagement TEXT NOT NULL DEFAULT '{}',
    reach INTEGER NOT NULL DEFAULT 0,
    tokens TEXT,
    keywords TEXT NOT NULL DEFAULT '[]',
    sentiment_label TEXT,
    sentiment_score REAL,
    sentiment TEXT,
    schemes TEXT NOT NULL DEFAULT '[]',
    text_truncated INTEGER NOT NULL DEFAULT 0,
    dup_of TEXT,
    cluster TEXT,
    source_tier TEXT,
    category TEXT,
    verification TEXT,
    rumour TEXT,
    modified_at TEXT,
    repost_of TEXT
);
CREATE INDEX IF NOT EXISTS posts_published ON posts (published_ts);
CREATE INDEX IF NOT EXISTS posts_cluster ON posts (cluster);
CREATE INDEX IF NOT EXISTS posts_label_published ON posts (sentiment_label, published_ts);
CREATE TABLE IF NOT EXISTS post_schemes (
    scheme_id TEXT NOT NULL,
    post_id TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    published_ts INTEGER,
    label TEXT,
    cluster TEXT,
    PRIMARY KEY (scheme_id, post_id)
);
CREATE INDEX IF NOT EXISTS post_schemes_window ON post_schemes (scheme_id, published_ts, label);
CREATE TABLE IF NOT EXISTS post_keys (
    key TEXT NOT NULL,
    post_id TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    ts INTEGER,
    PRIMARY KEY (key, post_id)
);
CREATE INDEX IF NOT EXISTS post_keys_post ON post_keys (post_id);
CREATE TABLE IF NOT EXISTS stories (
    cluster TEXT PRIMARY KEY,
    first_ts INTEGER,
    last_ts INTEGER,
    size INTEGER NOT NULL,
    reach INTEGER NOT NULL,
    negative INTEGER NOT NULL,
    verification TEXT,
    rumour TEXT,
    category TEXT,
    schemes TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stories_time ON stories (last_ts, first_ts);
CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5(tokens, content='posts', content_rowid='rowid');
CREATE TRIGGER IF NOT EXISTS posts_ai AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts(rowid, tokens) VALUES (new.rowid, new.tokens);
END;
CREATE TRIGGER IF NOT EXISTS posts_ad AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts(posts_fts, rowid, tokens) VALUES ('delete', old.rowid, old.tokens);
END;
CREATE TRIGGER IF NOT EXISTS posts_au AFTER UPDATE OF tokens ON posts BEGIN
    INSERT INTO posts_fts(posts_fts, rowid, tokens) VALUES ('delete', old.rowid, old.tokens);
    INSERT INTO posts_fts(rowid, tokens) VALUES (new.rowid, new.tokens);
END;
CREATE TABLE IF NOT EXISTS alerts (
    key TEXT PRIMARY KEY,
    scheme_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    count INTEGER NOT NULL,
    baseline REAL NOT NULL,
    threshold REAL NOT NULL,
    why TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_scheme ON alerts (scheme_id, kind, window_start);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS source_health (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    at TEXT NOT NULL
);
"""

_POST_COLUMNS = ("id", "platform", "source", "platform_id", "url", "title", "text", "author", "published_at",
                 "published_ts", "published_precision", "crawled_at", "first_seen_at", "engagement", "reach",
                 "tokens", "keywords", "sentiment_label", "sentiment_score", "sentiment", "schemes",
                 "text_truncated", "dup_of", "cluster", "source_tier", "category", "verification", "rumour",
                 "modified_at", "repost_of")
# Columns added after the first release: an older database file gets them on open.
_ADDED_COLUMNS = {"posts": ("source_tier", "category", "verification", "rumour", "modified_at", "repost_of"),
                  "post_schemes": ("cluster",)}
_UPDATABLE = ("verification", "rumour", "category")
# On conflict everything is refreshed except the id and when we first saw the post.
_UPDATE = ", ".join(f"{c}=excluded.{c}" for c in _POST_COLUMNS if c not in ("id", "first_seen_at"))


def _utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


class SQLiteStore:
    """Thread-safe (one lock) so Scrapy's worker threads and the main thread can share it."""

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            if not create and not Path(self.path).is_file():
                raise StoreUnavailable(f"sqlite:///{self.path}: no such database (crawl, import or run the demo "
                                       "first, or check `store:` in yuqing.yaml / YUQING_STORE)")
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"sqlite:///{self.path}: cannot create its folder: {exc.strerror}") from None
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite:///{self.path}: {exc}") from exc
        self._lock = threading.Lock()

    def _migrate(self) -> None:
        """Add the columns a database written by an older release lacks (before the indexes need them)."""
        for table, columns in _ADDED_COLUMNS.items():
            have = {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}
            if not have:
                continue  # a new file: SCHEMA creates the table whole
            for column in columns:
                if column not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

    @classmethod
    def from_url(cls, url: str, create: bool = True) -> SQLiteStore:
        path = url.removeprefix("sqlite://")
        if path.startswith("/"):
            path = path[1:]  # sqlite:///rel/path.db → rel/path.db ; sqlite:////abs → /abs
        return cls(path or ":memory:", create=create)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- posts ---------------------------------------------------------------
    def upsert_posts(self, posts: Sequence[Post]) -> WriteResult:
        result = WriteResult()
        if not posts:
            return result
        now = _utcnow()
        rows, links, keys = [], [], []
        for p in posts:
            published = parse_utc(p["published_at"]) if p.get("published_at") else None
            sentiment = p.get("sentiment") or {}
            engagement = p.get("engagement") or {}
            rows.append((
                p["id"], p["platform"], p.get("source"), p.get("platform_id"), p.get("url"), p.get("title"),
                p.get("text"), p.get("author"), p.get("published_at"), _ts(published),
                p.get("published_precision"), p.get("crawled_at"), now,
                json.dumps(engagement, ensure_ascii=False), sum(engagement.values()), p.get("tokens"),
                json.dumps(p.get("keywords") or [], ensure_ascii=False), sentiment.get("label"),
                sentiment.get("score"), json.dumps(sentiment, ensure_ascii=False),
                json.dumps(p.get("schemes") or [], ensure_ascii=False), int(bool(p.get("text_truncated"))),
                p.get("dup_of"), p.get("cluster"), p.get("source_tier"), p.get("category"), p.get("verification"),
                p.get("rumour"), p.get("modified_at"), p.get("repost_of"),
            ))
            links.extend((s, p["id"], _ts(published), sentiment.get("label"), p.get("cluster"))
                         for s in p.get("schemes") or [])
            keys.extend((k, p["id"], _ts(published)) for k in p.get("lsh") or [])
        ids = [p["id"] for p in posts]
        placeholders = ",".join("?" * len(_POST_COLUMNS))
        with self._lock:
            try:
                with self._db:
                    existing = {r[0] for r in self._query_ids(ids)}
                    self._db.executemany(
                        f"INSERT INTO posts ({','.join(_POST_COLUMNS)}) VALUES ({placeholders}) "
                        f"ON CONFLICT(id) DO UPDATE SET {_UPDATE}", rows)
                    self._db.executemany("DELETE FROM post_schemes WHERE post_id=?", [(i,) for i in ids])
                    self._db.executemany("INSERT INTO post_schemes (scheme_id, post_id, published_ts, label, cluster) "
                                         "VALUES (?,?,?,?,?)", links)
                    if keys or any("lsh" in p for p in posts):
                        self._db.executemany("DELETE FROM post_keys WHERE post_id=?", [(i,) for i in ids])
                        self._db.executemany("INSERT OR IGNORE INTO post_keys VALUES (?,?,?)", keys)
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"sqlite:///{self.path}: write of {len(rows)} posts failed: {exc}") from exc
        result.updated = len(existing & set(ids))
        result.inserted = len(set(ids)) - result.updated
        return result

    def _query_ids(self, ids: list[str]) -> list[sqlite3.Row]:
        out: list[sqlite3.Row] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out.extend(self._db.execute(f"SELECT id FROM posts WHERE id IN ({','.join('?' * len(chunk))})", chunk))
        return out

    def known_ids(self, ids: Sequence[str]) -> set[str]:
        with self._lock:
            return {r[0] for r in self._query_ids(list(ids))}

    def count_posts(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM posts").fetchone()[0]

    def find_posts(self, *, scheme: str | None = None, label: str | None = None, start: datetime | None = None,
                   end: datetime | None = None, limit: int | None = None, order: str = "published",
                   query: str | None = None) -> list[Post]:
        """Posts filtered by scheme / label / [start, end) / FTS query; ``order``: published or reach."""
        where, args = _where(PostFilter(scheme=scheme, label=label, start=start, end=end, query=query))
        sql = f"SELECT p.* FROM posts p{where} ORDER BY {_ORDER[order]}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            return [_row_to_post(r) for r in self._db.execute(sql, args)]

    def iter_posts(self, flt: PostFilter | None = None, *, order: str = "oldest", limit: int | None = None,
                   batch_size: int = 1000) -> Iterator[Post]:
        """Matching posts in batches: the ordered rowids are read once (a consistent list of
        integers), then rows are fetched ``batch_size`` at a time, so the lock is never held
        while the caller works and other threads keep writing."""
        where, args = _where(flt or PostFilter())
        sql = f"SELECT p.rowid FROM posts p{where} ORDER BY {_ORDER[order]}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rowids = [r[0] for r in self._db.execute(sql, args)]
        for i in range(0, len(rowids), batch_size):
            chunk = rowids[i:i + batch_size]
            with self._lock:
                rows = {r["rowid"]: r for r in self._db.execute(
                    f"SELECT rowid, * FROM posts WHERE rowid IN ({','.join('?' * len(chunk))})", chunk)}
            yield from (_row_to_post(rows[r]) for r in chunk if r in rows)  # deleted meanwhile: skipped

    def count_matching(self, flt: PostFilter | None = None) -> int:
        where, args = _where(flt or PostFilter())
        with self._lock:
            return self._db.execute(f"SELECT COUNT(*) FROM posts p{where}", args).fetchone()[0]

    def histogram(self, flt: PostFilter | None = None, *, window: timedelta, tz: ZoneInfo,
                  by: str | None = None) -> dict[tuple[datetime, str | None], int]:
        """Counted in SQL per (second, group), bucketed with the same rule as ``window_counts`` (B17)."""
        column = {None: "NULL", "label": "p.sentiment_label", "platform": "p.platform", "source": "p.source",
                  "category": "p.category"}
        if by not in column:
            raise ValueError(f"histogram by {by!r}: use one of {', '.join(GROUP_FIELDS)}")
        where, args = _where(flt or PostFilter())
        where += (" AND " if where else " WHERE ") + "p.published_ts IS NOT NULL"
        counts: dict[tuple[datetime, str | None], int] = {}
        with self._lock:
            rows = self._db.execute(f"SELECT p.published_ts, {column[by]}, COUNT(*) FROM posts p{where} "
                                    "GROUP BY 1, 2", args).fetchall()
        for ts, group, n in rows:
            key = (window_start(datetime.fromtimestamp(ts, UTC), window, tz), group)
            counts[key] = counts.get(key, 0) + n
        return dict(sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")))

    def term_counts(self, flt: PostFilter | None = None, *, field: str = "keywords",
                    size: int = 20) -> list[tuple[str, int]]:
        """Counted by SQLite (``json_each`` over the stored lists), one count per post."""
        where, args = _where(flt or PostFilter())
        if field in ("keywords", "schemes"):
            sql = (f"SELECT j.value, COUNT(DISTINCT p.id) FROM posts p, json_each(p.{field}) j{where} "
                   "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?")
        elif field in ("source", "platform", "author", "category"):
            sql = (f"SELECT p.{field}, COUNT(*) FROM posts p{where}{' AND' if where else ' WHERE'} "
                   f"p.{field} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?")
        else:
            raise ValueError(f"term_counts field {field!r}: use one of {', '.join(TERM_FIELDS)}")
        with self._lock:
            return [(t, n) for t, n in self._db.execute(sql, [*args, size])]

    def window_counts(self, *, start: datetime, end: datetime, window: timedelta, tz: ZoneInfo,
                      scheme: str | None = None, label: str | None = None,
                      stories: bool = False) -> dict[datetime, int]:
        """Posts per window, or with ``stories`` distinct stories (copies of one story count once)."""
        if scheme:
            sql = ("SELECT published_ts, COALESCE(cluster, post_id) FROM post_schemes "
                   "WHERE scheme_id=? AND published_ts>=? AND published_ts<?")
            args = [scheme, _ts(start), _ts(end)]
            if label:
                sql += " AND label=?"
                args.append(label)
        else:
            sql = "SELECT published_ts, COALESCE(cluster, id) FROM posts WHERE published_ts>=? AND published_ts<?"
            args = [_ts(start), _ts(end)]
            if label:
                sql += " AND sentiment_label=?"
                args.append(label)
        seen: dict[datetime, set[str]] = {}
        counts: dict[datetime, int] = {}
        with self._lock:
            for ts, cluster in self._db.execute(sql, args):
                key = window_start(datetime.fromtimestamp(ts, UTC), window, tz)
                if stories:
                    seen.setdefault(key, set()).add(cluster)
                else:
                    counts[key] = counts.get(key, 0) + 1
        return {k: len(v) for k, v in seen.items()} if stories else counts

    # -- stories -------------------------------------------------------------
    def cluster_assignments(self, ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        out: dict[str, tuple[str, str | None]] = {}
        with self._lock:
            for i in range(0, len(ids), 500):
                chunk = list(ids[i:i + 500])
                for row in self._db.execute(f"SELECT id, cluster, dup_of FROM posts WHERE cluster IS NOT NULL "
                                            f"AND id IN ({','.join('?' * len(chunk))})", chunk):
                    out[row[0]] = (row[1], row[2])
        return out

    def near_dup_candidates(self, queries: Sequence[tuple[Sequence[str], datetime, datetime]],
                            per_query: int = 200) -> list[list[Post]]:
        """For each (LSH keys, start, end): stored posts sharing a key, published in the span (or undated)."""
        out = []
        with self._lock:
            for keys, start, end in queries:
                if not keys:
                    out.append([])
                    continue
                sql = (f"SELECT DISTINCT p.id, p.title, p.text, p.cluster, p.published_at FROM post_keys k "
                       f"JOIN posts p ON p.id = k.post_id WHERE k.key IN ({','.join('?' * len(keys))}) "
                       f"AND (k.ts IS NULL OR k.ts BETWEEN ? AND ?) LIMIT {int(per_query)}")
                out.append([dict(r) for r in self._db.execute(sql, [*keys, _ts(start), _ts(end)])])
        return out

    def cluster_posts(self, clusters: Sequence[str]) -> list[Post]:
        out: list[Post] = []
        with self._lock:
            for i in range(0, len(clusters), 500):
                chunk = list(clusters[i:i + 500])
                out.extend(_row_to_post(r) for r in self._db.execute(
                    f"SELECT * FROM posts WHERE cluster IN ({','.join('?' * len(chunk))})", chunk))
        return out

    def update_posts(self, fields_by_id: dict[str, dict[str, Any]]) -> None:
        """Set story-derived fields (verification, rumour, category) on stored posts."""
        rows: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for pid, fields in fields_by_id.items():
            cols = tuple(sorted(fields))
            bad = set(cols) - set(_UPDATABLE)
            if bad:
                raise ValueError(f"not updatable: {sorted(bad)}")
            rows.setdefault(cols, []).append((*(fields[c] for c in cols), pid))
        with self._lock, self._db:
            for cols, values in rows.items():
                self._db.executemany(f"UPDATE posts SET {', '.join(f'{c}=?' for c in cols)} WHERE id=?", values)

    def upsert_stories(self, stories: Sequence[dict[str, Any]]) -> None:
        rows = []
        for s in stories:
            first = parse_utc(s["first_published_at"]) if s.get("first_published_at") else None
            last = parse_utc(s["last_published_at"]) if s.get("last_published_at") else first
            rows.append((s["cluster"], _ts(first), _ts(last), s["size"], s["reach"], s["negative"],
                         s["verification"], s["rumour"], s["category"], json.dumps(s["schemes"], ensure_ascii=False),
                         json.dumps(s, ensure_ascii=False)))
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO stories VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)

    def find_stories(self, *, scheme: str | None = None, start: datetime | None = None, end: datetime | None = None,
                     clusters: Sequence[str] | None = None, rumour: str | None = None, min_size: int = 1,
                     limit: int | None = None, order: str = "reach") -> list[dict[str, Any]]:
        """Stories active in [start, end) (their first post before ``end``, their last after ``start``)."""
        where, args = ["size >= ?"], [min_size]
        if scheme:
            where.append("EXISTS (SELECT 1 FROM json_each(stories.schemes) WHERE value = ?)")
            args.append(scheme)
        if start:
            where.append("COALESCE(last_ts, first_ts) >= ?")
            args.append(_ts(start))
        if end:
            where.append("first_ts < ?")
            args.append(_ts(end))
        if clusters is not None:
            if not clusters:
                return []
            where.append(f"cluster IN ({','.join('?' * len(clusters))})")
            args.extend(clusters)
        if rumour:
            where.append("rumour = ?")
            args.append(rumour)
        order_sql = {"reach": "size DESC, reach DESC", "negative": "negative DESC, size DESC",
                     "recent": "first_ts DESC"}[order]
        sql = f"SELECT doc FROM stories WHERE {' AND '.join(where)} ORDER BY {order_sql}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            return [json.loads(r[0]) for r in self._db.execute(sql, args)]

    def time_range(self) -> tuple[datetime, datetime] | None:
        with self._lock:
            lo, hi = self._db.execute("SELECT MIN(published_ts), MAX(published_ts) FROM posts").fetchone()
        if lo is None:
            return None
        return datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC)

    def last_crawled(self, source: str) -> datetime | None:
        """When a post from ``source`` was last stored (first seen or updated)."""
        with self._lock:
            (value,) = self._db.execute("SELECT MAX(crawled_at) FROM posts WHERE source=?", (source,)).fetchone()
        return parse_utc(value) if value else None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            db = self._db
            return {
                "posts": db.execute("SELECT COUNT(*) FROM posts").fetchone()[0],
                "by_sentiment": dict(db.execute(
                    "SELECT COALESCE(sentiment_label, 'none'), COUNT(*) FROM posts GROUP BY 1 ORDER BY 1").fetchall()),
                "by_source": dict(db.execute(
                    "SELECT source, COUNT(*) FROM posts GROUP BY 1 ORDER BY 2 DESC").fetchall()),
                "by_scheme": dict(db.execute(
                    "SELECT scheme_id, COUNT(*) FROM post_schemes GROUP BY 1 ORDER BY 2 DESC").fetchall()),
                "alerts": dict(db.execute("SELECT status, COUNT(*) FROM alerts GROUP BY 1").fetchall()),
                "health_events": db.execute("SELECT COUNT(*) FROM source_health").fetchone()[0],
                "stories": db.execute("SELECT COUNT(*) FROM stories").fetchone()[0],
                "stories_flagged": dict(db.execute(
                    "SELECT rumour, COUNT(*) FROM stories WHERE rumour IS NOT NULL GROUP BY 1").fetchall()),
                "by_category": dict(db.execute(
                    "SELECT COALESCE(category, '其他'), COUNT(*) FROM posts GROUP BY 1 ORDER BY 2 DESC").fetchall()),
            }

    # -- alerts --------------------------------------------------------------
    def claim_alert(self, alert: AlertRecord) -> bool:
        now = _utcnow()
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (alert.key, alert.scheme_id, alert.kind, alert.window_start.isoformat(), alert.window_end.isoformat(),
                 alert.count, alert.baseline, alert.threshold, alert.why,
                 json.dumps(alert.payload, ensure_ascii=False, default=str), alert.status, "", now, now))
            return cur.rowcount == 1

    def last_alert(self, scheme_id: str, kind: str) -> AlertRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM alerts WHERE scheme_id=? AND kind=? "
                                   "ORDER BY window_start DESC, rowid DESC "
                                   "LIMIT 1", (scheme_id, kind)).fetchone()
        return _row_to_alert(row) if row else None

    def set_alert_status(self, key: str, status: str, detail: str = "") -> None:
        with self._lock, self._db:
            self._db.execute("UPDATE alerts SET status=?, detail=?, updated_at=? WHERE key=?",
                             (status, detail, _utcnow(), key))

    def alerts(self, status: str | None = None) -> list[AlertRecord]:
        sql, args = "SELECT * FROM alerts", []
        if status:
            sql, args = sql + " WHERE status=?", [status]
        with self._lock:
            return [_row_to_alert(r) for r in self._db.execute(sql + " ORDER BY window_start", args)]

    # -- state and health ----------------------------------------------------
    def get_state(self, key: str) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_state(self, key: str, value: Any) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT INTO state VALUES (?,?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value, "
                             "updated_at=excluded.updated_at", (key, json.dumps(value, ensure_ascii=False), _utcnow()))

    def try_lock(self, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        """Take or renew a named lease; False while another holder's lease is still valid."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                row = self._db.execute("SELECT value FROM state WHERE key=?", (f"lock:{name}",)).fetchone()
                if row:
                    lease = json.loads(row[0])
                    if lease["holder"] != holder and datetime.fromisoformat(lease["until"]) > now:
                        self._db.execute("ROLLBACK")
                        return False
                value = json.dumps({"holder": holder, "until": (now + ttl).isoformat()})
                self._db.execute("INSERT INTO state VALUES (?,?,?) ON CONFLICT(key) DO UPDATE SET "
                                 "value=excluded.value, updated_at=excluded.updated_at",
                                 (f"lock:{name}", value, _utcnow()))
                self._db.execute("COMMIT")
                return True
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreUnavailable(f"sqlite:///{self.path}: lock {name}: {exc}") from exc

    def record_health(self, source: str, kind: str, detail: str, at: datetime | None = None) -> None:
        when = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock, self._db:
            self._db.execute("INSERT INTO source_health (source, kind, detail, at) VALUES (?,?,?,?)",
                             (source, kind, detail[:2000], when))

    def health_events(self, source: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT source, kind, detail, at FROM source_health", []
        if source:
            sql, args = sql + " WHERE source=?", [source]
        with self._lock:
            return [dict(r) for r in self._db.execute(sql + " ORDER BY id", args)]


_ORDER = {"published": "p.published_ts DESC, p.id", "reach": "p.reach DESC, p.published_ts DESC, p.id",
          "oldest": "p.published_ts ASC, p.id"}


def _where(flt: PostFilter) -> tuple[str, list[Any]]:
    """`` WHERE …`` (or "") and its arguments for a filter over ``posts p``."""
    where: list[str] = []
    args: list[Any] = []
    if flt.scheme:
        where.append("p.id IN (SELECT post_id FROM post_schemes WHERE scheme_id=?)")
        args.append(flt.scheme)
    for column, values in (("sentiment_label", flt.labels), ("platform", flt.platforms), ("source", flt.sources),
                           ("category", flt.categories), ("verification", flt.verifications)):
        if values:
            where.append(f"p.{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    if flt.start:
        where.append("p.published_ts>=?")
        args.append(_ts(flt.start))
    if flt.end:
        where.append("p.published_ts<?")
        args.append(_ts(flt.end))
    if flt.query:
        where.append("p.rowid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
        args.append(flt.query)
    return (" WHERE " + " AND ".join(where) if where else ""), args


def _row_to_post(row: sqlite3.Row) -> Post:
    post = {k: row[k] for k in _POST_COLUMNS if k not in ("published_ts",)}
    for key in ("engagement", "keywords", "sentiment", "schemes"):
        post[key] = json.loads(post[key]) if post[key] else ({} if key in ("engagement", "sentiment") else [])
    post["text_truncated"] = bool(post["text_truncated"])
    return post


def _row_to_alert(row: sqlite3.Row) -> AlertRecord:
    return AlertRecord(
        key=row["key"], scheme_id=row["scheme_id"], kind=row["kind"],
        window_start=datetime.fromisoformat(row["window_start"]), window_end=datetime.fromisoformat(row["window_end"]),
        count=row["count"], baseline=row["baseline"], threshold=row["threshold"], why=row["why"],
        payload=json.loads(row["payload"]), status=row["status"],
        created_at=datetime.fromisoformat(row["created_at"].replace("Z", "+00:00")),
        detail=row["detail"] or "", updated_at=datetime.fromisoformat(row["updated_at"].replace("Z", "+00:00")),
    )
