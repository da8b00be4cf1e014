"""Weibo through the mobile JSON API (``/api/container/getIndex``): keyword search and user timelines.

Each source lists API base URLs (``https://m.weibo.cn`` in production, the replay site in
the demo), ``keywords`` to search (containerid ``100103type=1&q=…``) and ``uids`` whose
timelines to read (containerid ``107603<uid>``). Pages are followed until a page has no
posts, reaches posts seen last time, or ``max_pages``. Long posts (``isLongText`` or a
全文 link) are completed from ``/statuses/extend``; when that fails the truncated text is
stored with ``text_truncated=true`` and the long text is asked for again on the next runs
(field report B4), up to ``LONG_TEXT_ATTEMPTS`` times.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Any
from urllib.parse import quote

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers import weibo
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider
from pipeline.config import Source
from pipeline.errors import SourceError

LONG_TEXT_ATTEMPTS = 5
_DATETIME_FIELDS = ("published_at", "modified_at", "crawled_at")


def _item_to_state(item: PostItem) -> dict[str, Any]:
    raw = asdict(item)
    for key in _DATETIME_FIELDS:
        raw[key] = raw[key].isoformat() if raw[key] else None
    return raw


def _item_from_state(raw: dict[str, Any]) -> PostItem:
    raw = dict(raw)
    for key in _DATETIME_FIELDS:
        raw[key] = datetime.fromisoformat(raw[key]) if raw.get(key) else None
    return PostItem(**raw)


class WeiboSpider(SourceSpider):
    """Incremental per (source, keyword or uid): the newest publish time seen is kept in the
    store's state and written only when paging reached its end, so an interrupted crawl
    never skips posts next time."""

    name = "weibo"

    _since_cache: dict[str, datetime | None]
    _newest: dict[str, datetime]
    _finished: set[str]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._since_cache, self._newest, self._finished = {}, {}, set()
        self._retry_before: dict[str, dict[str, Any]] = {}  # source → pending long texts at start
        self._retry_failed: dict[str, dict[str, dict[str, Any]]] = {}  # source → mid → entry, this run
        self._retry_done: dict[str, set[str]] = {}

    def requests_for(self, source: Source) -> Iterable[scrapy.Request]:
        yield from self._long_text_retries(source)
        for base in source.urls:
            base = base.rstrip("/")
            for keyword in source.keywords:
                yield self._page(source, base, f"100103type=1&q={keyword}", keyword, 1)
            for uid in source.uids:
                yield self._page(source, base, f"107603{uid}", f"uid:{uid}", 1)

    # -- incremental state ---------------------------------------------------------------
    def _state_key(self, source: Source, query: str) -> str:
        return f"weibo:{source.name}:{query}:newest"

    def _since(self, source: Source, query: str) -> datetime | None:
        if not source.incremental:
            return None
        key = self._state_key(source, query)
        if key not in self._since_cache:
            value = self.state_store.get_state(key)
            self._since_cache[key] = datetime.fromisoformat(value) - source.overlap if value else None
        return self._since_cache[key]

    def _seen(self, source: Source, query: str, items: list[PostItem], finished: bool) -> None:
        key = self._state_key(source, query)
        times = [i.published_at for i in items if i.published_at]
        if times:
            self._newest[key] = max([*times, *([self._newest[key]] if key in self._newest else [])])
        if finished and source.incremental and key in self._newest:
            self._finished.add(key)

    def closed(self, reason: str) -> None:
        for key in self._finished:
            self.state_store.set_state(key, self._newest[key].isoformat())
        self._save_long_text_retries()
        super().closed(reason)

    # -- pages ---------------------------------------------------------------------------
    def _page(self, source: Source, base: str, container: str, query: str, page: int) -> scrapy.Request:
        url = f"{base}/api/container/getIndex?containerid={quote(container, safe='')}&page_type=searchall&page={page}"
        cookie = source.cookie()
        return scrapy.Request(url, callback=self.parse_search, errback=self.on_error,
                              headers={"Cookie": cookie} if cookie else None,
                              cb_kwargs={"source": source, "base": base, "container": container, "query": query,
                                         "page": page})

    def parse_search(self, response: Response, source: Source, base: str, container: str, query: str,
                     page: int) -> Iterator[PostItem | scrapy.Request]:
        try:
            mblogs = weibo.cards_mblogs(weibo.decode_api(response.body, response.url, source.name),
                                        response.url, source.name)
        except SourceError as err:
            self.source_error(source.name, err.kind, err.detail)
            return
        now = self.now()
        page_had_posts = bool(mblogs)
        mblogs, older_reached = weibo.select_new(mblogs, self._since(source, query), now)
        items: list[PostItem] = []
        for mblog in mblogs:
            mid = str(mblog.get("mid") or mblog.get("id") or "")
            if not mid:
                self.crawler.stats.inc_value("yuqing/dropped/weibo_no_id")
                continue
            item = weibo.mblog_item(mblog, source=source.name, now=now, detail_url=f"{base}/detail/{mid}")
            items.append(item)
            if item.text_truncated and mid in self._retry_before.get(source.name, {}):
                continue  # its long text is already being asked for again (see _long_text_retries)
            if item.text_truncated:
                yield self._long_text(source, base, mid, item, attempts=0)
            else:
                yield item
        more = page_had_posts and not older_reached and page < source.max_pages
        self._seen(source, query, items, finished=not more)
        if more:
            yield self._page(source, base, container, query, page + 1)
        elif older_reached:
            self.crawler.stats.inc_value("yuqing/weibo/stopped_at_known_posts")

    # -- long text (B4) --------------------------------------------------------------------
    def _long_text(self, source: Source, base: str, mid: str, item: PostItem, attempts: int) -> scrapy.Request:
        cookie = source.cookie()
        return scrapy.Request(f"{base}/statuses/extend?id={mid}", callback=self.parse_long_text,
                              errback=self.long_text_failed, dont_filter=True,
                              headers={"Cookie": cookie} if cookie else None,
                              cb_kwargs={"source": source, "base": base, "mid": mid, "item": item,
                                         "attempts": attempts})

    def parse_long_text(self, response: Response, source: Source, base: str, mid: str, item: PostItem,
                        attempts: int) -> Iterator[PostItem]:
        try:
            full = weibo.long_text(weibo.decode_api(response.body, response.url, source.name))
        except SourceError as err:
            self.source_error(source.name, err.kind, err.detail)
            full = None
        if full:
            item.text, item.text_truncated = full, False
            self._retry_done.setdefault(source.name, set()).add(mid)
            if attempts:
                self.crawler.stats.inc_value("yuqing/weibo/long_text_recovered")
        else:
            self._long_text_missing(source, base, mid, item, attempts)
        yield item

    def long_text_failed(self, failure: Failure) -> Iterator[PostItem]:
        self.on_error(failure)
        kw = failure.request.cb_kwargs
        self._long_text_missing(kw["source"], kw["base"], kw["mid"], kw["item"], kw["attempts"])
        yield kw["item"]

    def _long_text_missing(self, source: Source, base: str, mid: str, item: PostItem, attempts: int) -> None:
        """Keep the truncated text (flagged) and queue the long text for the next run."""
        self.crawler.stats.inc_value("yuqing/weibo/long_text_missing")
        if attempts + 1 >= LONG_TEXT_ATTEMPTS:
            self.logger.warning("source %s: long text of %s still missing after %d attempts; keeping the "
                                "truncated text", source.name, mid, attempts + 1)
            self._retry_done.setdefault(source.name, set()).add(mid)
            return
        self._retry_failed.setdefault(source.name, {})[mid] = {
            "base": base, "attempts": attempts + 1, "item": _item_to_state(item)}

    def _retry_key(self, source_name: str) -> str:
        return f"weibo:{source_name}:long_text_retry"

    def _long_text_retries(self, source: Source) -> Iterator[scrapy.Request]:
        pending = self.state_store.get_state(self._retry_key(source.name)) or {}
        self._retry_before[source.name] = pending
        for mid, entry in pending.items():
            self.crawler.stats.inc_value("yuqing/weibo/long_text_retried")
            yield self._long_text(source, entry["base"], mid, _item_from_state(entry["item"]), entry["attempts"])

    def _save_long_text_retries(self) -> None:
        for name in {*self._retry_before, *self._retry_failed}:
            pending = {mid: e for mid, e in self._retry_before.get(name, {}).items()
                       if mid not in self._retry_done.get(name, set())}
            pending.update(self._retry_failed.get(name, {}))
            pending = {mid: e for mid, e in pending.items() if mid not in self._retry_done.get(name, set())}
            if pending or self._retry_before.get(name):
                self.state_store.set_state(self._retry_key(name), pending)
