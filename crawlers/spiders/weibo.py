"""Weibo keyword search through the mobile JSON API (``/api/container/getIndex``).

Each source lists API base URLs (``https://m.weibo.cn`` in production, the replay site in
the demo) and keywords. Pages are followed until a page has no posts or ``max_pages``.
Long posts (``isLongText`` or a 全文 link) are completed from ``/statuses/extend``; when
that fails the truncated text is kept with ``text_truncated=true``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from urllib.parse import quote

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers import weibo
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider
from pipeline.config import Source
from pipeline.errors import SourceError


class WeiboSpider(SourceSpider):
    """Incremental per (source, keyword): the newest publish time seen is kept in the store's
    state and written only when a search was paged to its end, so an interrupted crawl
    never skips posts next time."""

    name = "weibo"

    def requests_for(self, source: Source) -> Iterable[scrapy.Request]:
        for base in source.urls:
            for keyword in source.keywords:
                yield self._search(source, base.rstrip("/"), keyword, 1)

    def _state_key(self, source: Source, keyword: str) -> str:
        return f"weibo:{source.name}:{keyword}:newest"

    def _since(self, source: Source, keyword: str) -> datetime | None:
        if not source.incremental:
            return None
        key = self._state_key(source, keyword)
        if key not in self._since_cache:
            value = self.state_store.get_state(key)
            self._since_cache[key] = datetime.fromisoformat(value) - source.overlap if value else None
        return self._since_cache[key]

    def _seen(self, source: Source, keyword: str, items: list[PostItem], finished: bool) -> None:
        key = self._state_key(source, keyword)
        times = [i.published_at for i in items if i.published_at]
        if times:
            self._newest[key] = max([*times, *([self._newest[key]] if key in self._newest else [])])
        if finished and source.incremental and key in self._newest:
            self._finished.add(key)

    def closed(self, reason: str) -> None:
        for key in self._finished:
            self.state_store.set_state(key, self._newest[key].isoformat())
        if hasattr(self, "_store"):
            self._store.close()

    @property
    def state_store(self):
        if not hasattr(self, "_store"):
            from pipeline.store import store_for
            self._store = store_for(self.yuqing)
        return self._store

    _since_cache: dict[str, datetime | None]
    _newest: dict[str, datetime]
    _finished: set[str]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._since_cache, self._newest, self._finished = {}, {}, set()

    def _search(self, source: Source, base: str, keyword: str, page: int) -> scrapy.Request:
        container = quote(f"100103type=1&q={keyword}", safe="")
        url = f"{base}/api/container/getIndex?containerid={container}&page_type=searchall&page={page}"
        cookie = source.cookie()
        return scrapy.Request(url, callback=self.parse_search, errback=self.on_error,
                              headers={"Cookie": cookie} if cookie else None,
                              cb_kwargs={"source": source, "base": base, "keyword": keyword, "page": page})

    def parse_search(self, response: Response, source: Source, base: str, keyword: str,
                     page: int) -> Iterator[PostItem | scrapy.Request]:
        try:
            mblogs = weibo.cards_mblogs(weibo.decode_api(response.body, response.url, source.name),
                                        response.url, source.name)
        except SourceError as err:
            self.source_error(source.name, err.kind, err.detail)
            return
        now = self.now()
        page_had_posts = bool(mblogs)
        mblogs, older_reached = weibo.select_new(mblogs, self._since(source, keyword), now)
        items: list[PostItem] = []
        for mblog in mblogs:
            mid = str(mblog.get("mid") or mblog.get("id") or "")
            if not mid:
                self.crawler.stats.inc_value("yuqing/dropped/weibo_no_id")
                continue
            item = weibo.mblog_item(mblog, source=source.name, now=now, detail_url=f"{base}/detail/{mid}")
            items.append(item)
            if item.text_truncated:
                yield scrapy.Request(f"{base}/statuses/extend?id={mid}", callback=self.parse_long_text,
                                     errback=self.long_text_failed, dont_filter=True,
                                     cb_kwargs={"source": source, "item": item})
            else:
                yield item
        more = page_had_posts and not older_reached and page < source.max_pages
        self._seen(source, keyword, items, finished=not more)
        if more:
            yield self._search(source, base, keyword, page + 1)
        elif older_reached:
            self.crawler.stats.inc_value("yuqing/weibo/stopped_at_known_posts")

    def parse_long_text(self, response: Response, source: Source, item: PostItem) -> Iterator[PostItem]:
        try:
            full = weibo.long_text(weibo.decode_api(response.body, response.url, source.name))
        except SourceError as err:
            self.source_error(source.name, err.kind, err.detail)
            full = None
        if full:
            item.text, item.text_truncated = full, False
        else:
            self.crawler.stats.inc_value("yuqing/weibo/long_text_missing")
        yield item

    def long_text_failed(self, failure: Failure) -> Iterator[PostItem]:
        self.on_error(failure)
        self.crawler.stats.inc_value("yuqing/weibo/long_text_missing")
        yield failure.request.cb_kwargs["item"]
