"""The production store: Elasticsearch 8.x (or an OpenSearch-style server with ``compat``).

Layout (one documented convention, see README):
- posts go to monthly indices ``yuqing-posts-YYYY.MM`` chosen by the **Asia/Shanghai**
  month of ``published_at`` (``yuqing-posts-undated`` when there is none) and are read
  through the alias ``yuqing-posts``; the index template and ILM policy live in
  ``config/elasticsearch/`` and are installed by ``yuqing es setup`` (idempotent);
- ``yuqing-alerts`` holds alert records (``_id`` = alert key, created with
  ``op_type=create``, so two checkers claim an alert once); ``yuqing-state`` and
  ``yuqing-health`` hold crawl state and source-health events.

Bulk writes inspect every item: documents the cluster rejects (mapping conflicts, bad
dates) go to a dead-letter JSON Lines file with the reason, the rest are indexed. A
connection failure raises StoreUnavailable after retries, so callers spool the batch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, Elasticsearch, NotFoundError, TransportError
from elasticsearch.helpers import streaming_bulk

from pipeline.config import ElasticConfig
from pipeline.errors import ConfigError, StoreUnavailable
from pipeline.store import GROUP_FIELDS, TERM_FIELDS, AlertRecord, Post, PostFilter, WriteResult

log = logging.getLogger(__name__)

POSTS_ALIAS = "yuqing-posts"
POSTS_PREFIX = "yuqing-posts-"
ALERTS = "yuqing-alerts"
STATE = "yuqing-state"
HEALTH = "yuqing-health"
STORIES = "yuqing-stories"
INDEX_TZ = ZoneInfo("Asia/Shanghai")  # index names follow Beijing months, whatever the host's zone
TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "elasticsearch"
_DOWN = (ConnectionError, ConnectionTimeout)


def index_for(published_at: str | None) -> str:
    """Monthly index for a post: the Asia/Shanghai month of its publish time."""
    if not published_at:
        return POSTS_PREFIX + "undated"
    try:
        ts = datetime.fromisoformat(published_at.replace("Z", "+00:00"))
    except ValueError:
        return POSTS_PREFIX + "undated"
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return f"{POSTS_PREFIX}{ts.astimezone(INDEX_TZ):%Y.%m}"


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_KEEP_ALIVE = "2m"  # per page: a slow consumer (a notebook, an export) keeps the snapshot alive
_SORT = {"published": [{"published_at": "desc"}], "oldest": [{"published_at": "asc"}],
         "reach": [{"reach": "desc"}, {"published_at": "desc"}]}


def _interval(window: timedelta) -> dict[str, str]:
    if window == timedelta(days=1):
        return {"calendar_interval": "1d"}
    return {"fixed_interval": f"{int(window.total_seconds())}s"}


class ElasticStore:
    def __init__(self, url: str, config: ElasticConfig, templates: Path | None = None) -> None:
        self.url = url
        self.config = config
        self.templates = templates if templates and templates.exists() else TEMPLATES
        kwargs: dict[str, Any] = {"request_timeout": config.request_timeout, "max_retries": config.max_retries,
                                  "retry_on_timeout": True}
        if config.compat == "opensearch":
            from pipeline.store.es_compat import PlainJsonNode
            kwargs["node_class"] = PlainJsonNode
        if config.api_key():
            kwargs["api_key"] = config.api_key()
        elif config.username:
            if config.password() is None:
                raise ConfigError(f"elasticsearch.username is set but ${config.password_env} is empty")
            kwargs["basic_auth"] = (config.username, config.password())
        if url.startswith("https://"):
            if config.ca_file:
                kwargs["ca_certs"] = config.ca_file
            kwargs["verify_certs"] = config.verify_certs
        self.es = Elasticsearch(url, **kwargs)
        self.dead_letter = Path(config.dead_letter)

    # -- setup ---------------------------------------------------------------
    def setup(self) -> list[str]:
        """Install the ILM policy, index template and auxiliary indices; safe to run again."""
        done = []
        ilm = json.loads((self.templates / "ilm-policy.json").read_text(encoding="utf-8"))
        template = json.loads((self.templates / "posts-template.json").read_text(encoding="utf-8"))
        try:
            self.es.ilm.put_lifecycle(name="yuqing-posts", policy=ilm["policy"])
            done.append("ilm policy yuqing-posts")
        except ApiError as exc:
            if self.config.compat != "opensearch":
                raise
            # OpenSearch-style servers have no ILM (they use ISM); drop the setting that names it.
            log.warning("no ILM on this server (HTTP %s); posts template installed without a lifecycle",
                        exc.status_code)
            template["template"]["settings"].pop("index.lifecycle.name", None)
        except _DOWN as exc:
            raise StoreUnavailable(f"{self.url}: {exc}") from exc
        self.es.indices.put_index_template(name="yuqing-posts", **{k: v for k, v in template.items()})
        done.append("index template yuqing-posts")
        # Monthly indices made from an older template get the fields added since (the mapping
        # is strict: without this, posts with new fields would be dead-lettered).
        if self.es.indices.exists(index=f"{POSTS_PREFIX}*", allow_no_indices=False):
            self.es.indices.put_mapping(index=f"{POSTS_PREFIX}*",
                                        properties=template["template"]["mappings"]["properties"])
            done.append("mappings of existing yuqing-posts-* indices")
        for name, spec in ((ALERTS, "alerts-index.json"), (STATE, "aux-index.json"), (HEALTH, "aux-index.json"),
                           (STORIES, "stories-index.json")):
            if not self.es.indices.exists(index=name):
                body = json.loads((self.templates / spec).read_text(encoding="utf-8"))
                self.es.indices.create(index=name, settings=body["settings"], mappings=body["mappings"])
                done.append(f"index {name}")
        return done

    def close(self) -> None:
        self.es.close()

    # -- posts ---------------------------------------------------------------
    def _doc(self, post: Post) -> dict[str, Any]:
        doc = {k: v for k, v in post.items() if k not in ("first_seen_at",)}
        for key in ("published_at", "modified_at", "crawled_at"):  # "" is no date (B16), not a parse error
            doc[key] = post.get(key) or None
        doc["reach"] = sum((post.get("engagement") or {}).values())
        doc["cluster"] = post.get("cluster") or post["id"]  # a post outside any story is a story of its own
        return doc

    def upsert_posts(self, posts: Sequence[Post]) -> WriteResult:
        result = WriteResult()
        if not posts:
            return result
        actions = [{"_op_type": "index", "_index": index_for(p.get("published_at")), "_id": p["id"],
                    "_source": self._doc(p)} for p in posts]
        try:
            for ok, item in streaming_bulk(self.es, actions, chunk_size=self.config.chunk_size,
                                           max_chunk_bytes=self.config.chunk_bytes, raise_on_error=False,
                                           raise_on_exception=False, max_retries=self.config.max_retries,
                                           initial_backoff=1, max_backoff=30, refresh="wait_for"):
                info = item.get("index", {})
                if ok:
                    if info.get("result") == "created":
                        result.inserted += 1
                    else:
                        result.updated += 1
                else:
                    result.failed += 1
                    reason = _reason(info)
                    result.errors.append(f"{info.get('_id')}: {reason}")
                    self._dead_letter(info, reason, posts)
        except _DOWN as exc:
            raise StoreUnavailable(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        if result.failed:
            log.error("elasticsearch: %d of %d documents rejected, written to %s", result.failed, len(posts),
                      self.dead_letter)
        return result

    def _dead_letter(self, info: dict[str, Any], reason: str, posts: Sequence[Post]) -> None:
        doc = next((p for p in posts if p.get("id") == info.get("_id")), None)
        self.dead_letter.parent.mkdir(parents=True, exist_ok=True)
        with self.dead_letter.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": _iso(datetime.now(UTC)), "index": info.get("_index"), "id": info.get("_id"),
                                 "status": info.get("status"), "reason": reason, "document": doc},
                                ensure_ascii=False, default=str) + "\n")

    def _search(self, index: str, **body: Any) -> dict[str, Any]:
        try:
            return self.es.search(index=index, ignore_unavailable=True, allow_no_indices=True, **body).body
        except NotFoundError:
            return {"hits": {"hits": [], "total": {"value": 0}}, "aggregations": {}}
        except _DOWN as exc:
            raise StoreUnavailable(f"{self.url}: {exc}") from exc

    def known_ids(self, ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        ids = list(ids)
        for i in range(0, len(ids), 1000):
            chunk = ids[i:i + 1000]
            res = self._search(POSTS_ALIAS, query={"ids": {"values": chunk}}, size=len(chunk), source=False)
            out.update(h["_id"] for h in res["hits"]["hits"])
        return out

    def count_posts(self) -> int:
        try:
            return self.es.count(index=POSTS_ALIAS, ignore_unavailable=True, allow_no_indices=True)["count"]
        except NotFoundError:
            return 0

    def _filters(self, flt: PostFilter) -> dict[str, Any]:
        """The bool filter for a PostFilter; every read of posts goes through here."""
        must: list[dict[str, Any]] = []
        if flt.scheme:
            must.append({"term": {"schemes": flt.scheme}})
        for field, values in (("sentiment.label", flt.labels), ("platform", flt.platforms), ("source", flt.sources),
                              ("category", flt.categories), ("verification", flt.verifications)):
            if len(values) == 1:
                must.append({"term": {field: values[0]}})
            elif values:
                must.append({"terms": {field: list(values)}})
        if flt.start or flt.end:
            rng: dict[str, str] = {}
            if flt.start:
                rng["gte"] = _iso(flt.start)
            if flt.end:
                rng["lt"] = _iso(flt.end)
            must.append({"range": {"published_at": rng}})
        if flt.query:
            must.append({"match": {"tokens": {"query": flt.query, "operator": "and"}}})
        return {"bool": {"filter": must}}

    def find_posts(self, *, scheme: str | None = None, label: str | None = None, start: datetime | None = None,
                   end: datetime | None = None, limit: int | None = None, order: str = "published",
                   query: str | None = None) -> list[Post]:
        flt = PostFilter(scheme=scheme, label=label, start=start, end=end, query=query)
        res = self._search(POSTS_ALIAS, query=self._filters(flt), sort=_SORT[order],
                           size=min(limit or 10_000, 10_000))
        return [h["_source"] for h in res["hits"]["hits"]]

    def iter_posts(self, flt: PostFilter | None = None, *, order: str = "oldest", limit: int | None = None,
                   batch_size: int = 1000, paging: str = "pit") -> Iterator[Post]:
        """Matching posts, ``batch_size`` per request, over a point-in-time with ``search_after``
        (a consistent snapshot however long the caller takes); a server without point-in-time
        gets a scroll instead. The filter runs server-side; ``id`` breaks ties in the sort."""
        query = self._filters(flt or PostFilter())
        sort = [*_SORT[order], {"id": "asc"}]
        pit = self._open_pit() if paging == "pit" else None
        if pit is None:
            yield from self._scroll(query, sort, limit, batch_size)
            return
        seen, after = 0, None
        try:
            while limit is None or seen < limit:
                size = batch_size if limit is None else min(batch_size, limit - seen)
                body: dict[str, Any] = {"pit": {"id": pit, "keep_alive": _KEEP_ALIVE}, "query": query,
                                        "sort": sort, "size": size, "track_total_hits": False}
                if after is not None:
                    body["search_after"] = after
                try:
                    res = self.es.search(**body).body
                except _DOWN as exc:
                    raise StoreUnavailable(f"{self.url}: {exc}") from exc
                pit = res.get("pit_id") or pit
                hits = res["hits"]["hits"]
                if not hits:
                    break
                for h in hits:
                    yield h["_source"]
                seen += len(hits)
                after = hits[-1]["sort"]
        finally:
            self._close_pit(pit)

    def _open_pit(self) -> str | None:
        """A point-in-time over the posts alias, in this server's dialect; None where unsupported."""
        try:
            if self.config.compat == "opensearch":
                res = self.es.perform_request("POST", f"/{POSTS_ALIAS}/_search/point_in_time",
                                              params={"keep_alive": _KEEP_ALIVE},
                                              headers={"accept": "application/json"})
                return res.body["pit_id"]
            return self.es.open_point_in_time(index=POSTS_ALIAS, keep_alive=_KEEP_ALIVE,
                                              ignore_unavailable=True).body["id"]
        except NotFoundError:
            return None
        except ApiError as exc:
            log.info("no point-in-time on %s (HTTP %s); paging with scroll", self.url, exc.status_code)
            return None
        except _DOWN as exc:
            raise StoreUnavailable(f"{self.url}: {exc}") from exc

    def _close_pit(self, pit: str) -> None:
        try:
            if self.config.compat == "opensearch":
                self.es.perform_request("DELETE", "/_search/point_in_time", body={"pit_id": [pit]},
                                        headers={"accept": "application/json", "content-type": "application/json"})
            else:
                self.es.close_point_in_time(id=pit)
        except (ApiError, *_DOWN) as exc:  # it expires by itself after keep_alive
            log.debug("closing point-in-time failed: %s", exc)

    def _scroll(self, query: dict[str, Any], sort: list[dict[str, Any]], limit: int | None,
                batch_size: int) -> Iterator[Post]:
        seen, scroll_id = 0, None
        try:
            try:
                res = self.es.search(index=POSTS_ALIAS, query=query, sort=sort, size=batch_size, scroll=_KEEP_ALIVE,
                                     ignore_unavailable=True, allow_no_indices=True).body
            except NotFoundError:
                return
            while True:
                scroll_id = res.get("_scroll_id") or scroll_id
                hits = res["hits"]["hits"]
                if not hits:
                    return
                for h in hits:
                    if limit is not None and seen >= limit:
                        return
                    seen += 1
                    yield h["_source"]
                if scroll_id is None:
                    return
                res = self.es.scroll(scroll_id=scroll_id, scroll=_KEEP_ALIVE).body
        except _DOWN as exc:
            raise StoreUnavailable(f"{self.url}: {exc}") from exc
        finally:
            if scroll_id:
                try:
                    self.es.clear_scroll(scroll_id=scroll_id)
                except (ApiError, *_DOWN) as exc:
                    log.debug("clearing scroll failed: %s", exc)

    def count_matching(self, flt: PostFilter | None = None) -> int:
        try:
            return self.es.count(index=POSTS_ALIAS, query=self._filters(flt or PostFilter()),
                                 ignore_unavailable=True, allow_no_indices=True)["count"]
        except NotFoundError:
            return 0
        except _DOWN as exc:
            raise StoreUnavailable(f"{self.url}: {exc}") from exc

    def histogram(self, flt: PostFilter | None = None, *, window: timedelta, tz: ZoneInfo,
                  by: str | None = None) -> dict[tuple[datetime, str | None], int]:
        """``date_histogram`` with ``time_zone`` (B17), a ``terms`` sub-aggregation per group."""
        fields = {"label": "sentiment.label", "platform": "platform", "source": "source", "category": "category"}
        if by is not None and by not in fields:
            raise ValueError(f"histogram by {by!r}: use one of {', '.join(GROUP_FIELDS)}")
        hist: dict[str, Any] = {"date_histogram": {"field": "published_at", "time_zone": str(tz),
                                                   "min_doc_count": 1, **_interval(window)}}
        if by:
            hist["aggs"] = {"g": {"terms": {"field": fields[by], "size": 1000}}}
        res = self._search(POSTS_ALIAS, size=0, query=self._filters(flt or PostFilter()), aggs={"w": hist})
        out: dict[tuple[datetime, str | None], int] = {}
        for b in (res.get("aggregations") or {}).get("w", {}).get("buckets", []):
            start = datetime.fromtimestamp(b["key"] / 1000, UTC).astimezone(tz)
            if by:
                for g in b["g"]["buckets"]:
                    out[(start, g["key"])] = g["doc_count"]
            else:
                out[(start, None)] = b["doc_count"]
        return out

    def term_counts(self, flt: PostFilter | None = None, *, field: str = "keywords",
                    size: int = 20) -> list[tuple[str, int]]:
        if field not in TERM_FIELDS:
            raise ValueError(f"term_counts field {field!r}: use one of {', '.join(TERM_FIELDS)}")
        res = self._search(POSTS_ALIAS, size=0, query=self._filters(flt or PostFilter()),
                           aggs={"t": {"terms": {"field": field, "size": size,
                                                 "order": [{"_count": "desc"}, {"_key": "asc"}]}}})
        return [(b["key"], b["doc_count"]) for b in (res.get("aggregations") or {}).get("t", {}).get("buckets", [])]

    def window_counts(self, *, start: datetime, end: datetime, window: timedelta, tz: ZoneInfo,
                      scheme: str | None = None, label: str | None = None,
                      stories: bool = False) -> dict[datetime, int]:
        """Server-side ``date_histogram`` with the analysts' time zone (field report B17);
        with ``stories`` a cardinality of ``cluster`` per window (exact below 3,000 stories)."""
        flt = PostFilter(scheme=scheme, label=label, start=start, end=end)
        if not stories:
            return {start: n for (start, _), n in self.histogram(flt, window=window, tz=tz).items()}
        histogram: dict[str, Any] = {"date_histogram": {"field": "published_at", "time_zone": str(tz),
                                                        "min_doc_count": 1, **_interval(window)},
                                     "aggs": {"s": {"cardinality": {"field": "cluster", "precision_threshold": 3000}}}}
        res = self._search(POSTS_ALIAS, size=0, query=self._filters(flt), aggs={"w": histogram})
        buckets = (res.get("aggregations") or {}).get("w", {}).get("buckets", [])
        return {datetime.fromtimestamp(b["key"] / 1000, UTC).astimezone(tz): b["s"]["value"] for b in buckets}

    # -- stories -------------------------------------------------------------
    def cluster_assignments(self, ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        if not ids:
            return {}
        res = self._search(POSTS_ALIAS, size=len(ids), query={"ids": {"values": list(ids)}},
                           source=["cluster", "dup_of"])
        return {h["_id"]: (h["_source"]["cluster"], h["_source"].get("dup_of")) for h in res["hits"]["hits"]
                if h["_source"].get("cluster")}

    def near_dup_candidates(self, queries: Sequence[tuple[Sequence[str], datetime, datetime]],
                            per_query: int = 200) -> list[list[Post]]:
        """One ``_msearch`` round trip: per (keys, start, end), posts sharing a key in the span."""
        searches: list[dict[str, Any]] = []
        for keys, start, end in queries:
            searches.append({"index": POSTS_ALIAS, "ignore_unavailable": True, "allow_no_indices": True})
            searches.append({"size": per_query if keys else 0, "_source": ["id", "title", "text", "cluster",
                                                                             "published_at"],
                             "query": {"bool": {"filter": [
                                 {"terms": {"lsh": list(keys) or ["-"]}},
                                 {"bool": {"should": [
                                     {"range": {"published_at": {"gte": _iso(start), "lte": _iso(end)}}},
                                     {"bool": {"must_not": {"exists": {"field": "published_at"}}}}]}}]}}})
        if not searches:
            return []
        try:
            responses = self.es.msearch(searches=searches)["responses"]
        except _DOWN as exc:
            raise StoreUnavailable(f"{self.url}: {exc}") from exc
        return [[h["_source"] for h in r.get("hits", {}).get("hits", [])] for r in responses]

    def cluster_posts(self, clusters: Sequence[str]) -> list[Post]:
        out: list[Post] = []
        for i in range(0, len(clusters), 500):
            res = self._search(POSTS_ALIAS, size=10_000, query={"terms": {"cluster": list(clusters[i:i + 500])}})
            out.extend(h["_source"] for h in res["hits"]["hits"])
        return out

    def update_posts(self, fields_by_id: dict[str, dict[str, Any]]) -> None:
        """Partial updates (story-derived fields) with one bulk request per chunk."""
        if not fields_by_id:
            return
        res = self._search(POSTS_ALIAS, size=len(fields_by_id), query={"ids": {"values": list(fields_by_id)}},
                           source=False)
        where = {h["_id"]: h["_index"] for h in res["hits"]["hits"]}
        self._bulk([{"_op_type": "update", "_index": where[i], "_id": i, "doc": doc}
                    for i, doc in fields_by_id.items() if i in where], "story fields of post")

    def upsert_stories(self, stories: Sequence[dict[str, Any]]) -> None:
        self._bulk([{"_op_type": "index", "_index": STORIES, "_id": s["cluster"], "_source": s} for s in stories],
                   "story")

    def _bulk(self, actions: list[dict[str, Any]], what: str) -> None:
        """Bulk writes of derived data (recomputed on the next batch): failures are logged, not dead-lettered."""
        try:
            for ok, item in streaming_bulk(self.es, actions, chunk_size=self.config.chunk_size, raise_on_error=False,
                                           raise_on_exception=False, refresh="wait_for"):
                if not ok:
                    info = next(iter(item.values()), {})
                    log.error("elasticsearch: %s %s not written: %s", what, info.get("_id"), _reason(info))
        except _DOWN as exc:
            raise StoreUnavailable(f"{self.url}: {exc}") from exc

    def find_stories(self, *, scheme: str | None = None, start: datetime | None = None, end: datetime | None = None,
                     clusters: Sequence[str] | None = None, rumour: str | None = None, min_size: int = 1,
                     limit: int | None = None, order: str = "reach") -> list[dict[str, Any]]:
        if clusters is not None and not clusters:
            return []
        flt: list[dict[str, Any]] = [{"range": {"size": {"gte": min_size}}}]
        if scheme:
            flt.append({"term": {"schemes": scheme}})
        if start:
            flt.append({"range": {"last_published_at": {"gte": _iso(start)}}})
        if end:
            flt.append({"range": {"first_published_at": {"lt": _iso(end)}}})
        if clusters is not None:
            flt.append({"terms": {"cluster": list(clusters)}})
        if rumour:
            flt.append({"term": {"rumour": rumour}})
        sort = {"reach": [{"size": "desc"}, {"reach": "desc"}], "negative": [{"negative": "desc"}, {"size": "desc"}],
                "recent": [{"first_published_at": "desc"}]}[order]
        res = self._search(STORIES, size=min(limit or 10_000, 10_000), sort=sort, query={"bool": {"filter": flt}})
        return [h["_source"] for h in res["hits"]["hits"]]

    def time_range(self) -> tuple[datetime, datetime] | None:
        res = self._search(POSTS_ALIAS, size=0, aggs={"lo": {"min": {"field": "published_at"}},
                                                     "hi": {"max": {"field": "published_at"}}})
        aggs = res.get("aggregations") or {}
        lo, hi = (aggs.get("lo") or {}).get("value"), (aggs.get("hi") or {}).get("value")
        if lo is None:
            return None
        return datetime.fromtimestamp(lo / 1000, UTC), datetime.fromtimestamp(hi / 1000, UTC)

    def last_crawled(self, source: str) -> datetime | None:
        res = self._search(POSTS_ALIAS, size=0, query={"term": {"source": source}},
                           aggs={"hi": {"max": {"field": "crawled_at"}}})
        value = ((res.get("aggregations") or {}).get("hi") or {}).get("value")
        return datetime.fromtimestamp(value / 1000, UTC) if value is not None else None

    def significant_terms(self, *, scheme: str, start: datetime, end: datetime,
                          size: int = 10) -> list[tuple[str, int]]:
        """Keywords over-represented among a window's negative posts, computed server-side."""
        res = self._search(POSTS_ALIAS, size=0,
                           query=self._filters(PostFilter(scheme=scheme, label="negative", start=start, end=end)),
                           aggs={"t": {"significant_terms": {"field": "keywords", "size": size}}})
        return [(b["key"], b["doc_count"]) for b in (res.get("aggregations") or {}).get("t", {}).get("buckets", [])]

    def stats(self) -> dict[str, Any]:
        res = self._search(POSTS_ALIAS, size=0, aggs={
            "label": {"terms": {"field": "sentiment.label", "missing": "none", "size": 10}},
            "source": {"terms": {"field": "source", "size": 50}},
            "scheme": {"terms": {"field": "schemes", "size": 100}},
            "category": {"terms": {"field": "category", "size": 30}}})
        aggs = res.get("aggregations") or {}

        def terms(name: str) -> dict[str, int]:
            return {b["key"]: b["doc_count"] for b in aggs.get(name, {}).get("buckets", [])}

        alerts = self._search(ALERTS, size=0, aggs={"s": {"terms": {"field": "status"}}})
        stories = self._search(STORIES, size=0, track_total_hits=True, aggs={"r": {"terms": {"field": "rumour"}}})
        return {"posts": self.count_posts(), "by_sentiment": terms("label"), "by_source": terms("source"),
                "by_scheme": terms("scheme"),
                "alerts": {b["key"]: b["doc_count"] for b in (alerts.get("aggregations") or {}).get("s", {})
                           .get("buckets", [])},
                "health_events": self._search(HEALTH, size=0, track_total_hits=True)["hits"]["total"]["value"],
                "stories": stories["hits"]["total"]["value"],
                "stories_flagged": {b["key"]: b["doc_count"] for b in (stories.get("aggregations") or {})
                                    .get("r", {}).get("buckets", [])},
                "by_category": terms("category")}

    # -- alerts --------------------------------------------------------------
    def claim_alert(self, alert: AlertRecord) -> bool:
        now = _iso(datetime.now(UTC))
        doc = {"key": alert.key, "scheme_id": alert.scheme_id, "kind": alert.kind,
               "window_start": alert.window_start.isoformat(), "window_end": alert.window_end.isoformat(),
               "count": alert.count, "baseline": alert.baseline, "threshold": alert.threshold, "why": alert.why,
               "payload": json.loads(json.dumps(alert.payload, default=str)), "status": alert.status, "detail": "",
               "created_at": now, "updated_at": now}
        try:
            self.es.create(index=ALERTS, id=alert.key, document=doc, refresh="wait_for")
            return True
        except ApiError as exc:
            if exc.status_code == 409:
                return False
            raise

    def _alert(self, src: dict[str, Any]) -> AlertRecord:
        return AlertRecord(key=src["key"], scheme_id=src["scheme_id"], kind=src["kind"],
                           window_start=datetime.fromisoformat(src["window_start"]),
                           window_end=datetime.fromisoformat(src["window_end"]), count=src["count"],
                           baseline=src["baseline"], threshold=src["threshold"], why=src["why"],
                           payload=src.get("payload") or {}, status=src["status"],
                           created_at=datetime.fromisoformat(src["created_at"].replace("Z", "+00:00")),
                           detail=src.get("detail") or "",
                           updated_at=datetime.fromisoformat((src.get("updated_at") or src["created_at"])
                                                             .replace("Z", "+00:00")))

    def last_alert(self, scheme_id: str, kind: str) -> AlertRecord | None:
        newest = [{"window_start": "desc"}, {"created_at": "desc"}]
        res = self._search(ALERTS, size=1, sort=newest, query={"bool": {"filter": [
            {"term": {"scheme_id": scheme_id}}, {"term": {"kind": kind}}]}})
        hits = res["hits"]["hits"]
        return self._alert(hits[0]["_source"]) if hits else None

    def set_alert_status(self, key: str, status: str, detail: str = "") -> None:
        self.es.update(index=ALERTS, id=key, doc={"status": status, "detail": detail,
                                                  "updated_at": _iso(datetime.now(UTC))}, refresh="wait_for")

    def alerts(self, status: str | None = None) -> list[AlertRecord]:
        query = {"term": {"status": status}} if status else {"match_all": {}}
        res = self._search(ALERTS, size=10_000, sort=[{"window_start": "asc"}], query=query)
        return [self._alert(h["_source"]) for h in res["hits"]["hits"]]

    # -- state and health ----------------------------------------------------
    def get_state(self, key: str) -> Any:
        try:
            return self.es.get(index=STATE, id=key)["_source"]["value"]["v"]
        except NotFoundError:
            return None

    def set_state(self, key: str, value: Any) -> None:
        self.es.index(index=STATE, id=key, document={"key": key, "value": {"v": value},
                                                     "updated_at": _iso(datetime.now(UTC))}, refresh="wait_for")

    def try_lock(self, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        """A lease document updated with optimistic concurrency (seq_no / primary_term)."""
        doc_id = f"lock:{name}"
        value = {"key": doc_id, "value": {"v": {"holder": holder, "until": (now + ttl).isoformat()}},
                 "updated_at": _iso(now)}
        try:
            current = self.es.get(index=STATE, id=doc_id)
        except NotFoundError:
            current = None
        try:
            if current is None:
                self.es.create(index=STATE, id=doc_id, document=value, refresh="wait_for")
                return True
            lease = current["_source"]["value"]["v"]
            if lease["holder"] != holder and datetime.fromisoformat(lease["until"]) > now:
                return False
            self.es.index(index=STATE, id=doc_id, document=value, if_seq_no=current["_seq_no"],
                          if_primary_term=current["_primary_term"], refresh="wait_for")
            return True
        except ApiError as exc:
            if exc.status_code == 409:  # someone else took or renewed it in between
                return False
            raise

    def record_health(self, source: str, kind: str, detail: str, at: datetime | None = None) -> None:
        self.es.index(index=HEALTH, document={"source": source, "kind": kind, "detail": detail[:2000],
                                              "at": _iso(at or datetime.now(UTC))}, refresh="wait_for")

    def health_events(self, source: str | None = None) -> list[dict[str, Any]]:
        query = {"term": {"source": source}} if source else {"match_all": {}}
        res = self._search(HEALTH, size=10_000, sort=[{"at": "asc"}], query=query)
        return [{k: h["_source"][k] for k in ("source", "kind", "detail", "at")} for h in res["hits"]["hits"]]


def _reason(info: dict[str, Any]) -> str:
    err = info.get("error")
    if isinstance(err, dict):
        cause = err.get("caused_by") or {}
        text = f"{err.get('type')}: {err.get('reason')}"
        return text + (f" (caused by {cause.get('type')}: {cause.get('reason')})" if cause else "")
    if isinstance(err, str | TransportError):
        return str(err)
    return f"status {info.get('status')}"
