"""Weibo keyword search through the mobile JSON API (``/api/container/getIndex``).

Each source lists API base URLs (``https://m.weibo.cn`` in production, the replay site in
the demo) and keywords. Pages are followed until a page has no posts or ``max_pages``.
Long posts (``isLongText`` or a 全文 link) are completed from ``/statuses/extend``; when
that fails the truncated text is kept with ``text_truncated=true``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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
    name = "weibo"

    def requests_for(self, source: Source) -> Iterable[scrapy.Request]:
        for base in source.urls:
            for keyword in source.keywords:
                yield self._search(source, base.rstrip("/"), keyword, 1)

    def _search(self, source: Source, base: str, keyword: str, page: int) -> scrapy.Request:
        container = quote(f"100103type=1&q={keyword}", safe="")
        url = f"{base}/api/container/getIndex?containerid={container}&page_type=searchall&page={page}"
        return scrapy.Request(url, callback=self.parse_search, errback=self.on_error,
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
        for mblog in mblogs:
            mid = str(mblog.get("mid") or mblog.get("id") or "")
            if not mid:
                self.crawler.stats.inc_value("yuqing/dropped/weibo_no_id")
                continue
            item = weibo.mblog_item(mblog, source=source.name, now=now, detail_url=f"{base}/detail/{mid}")
            if item.text_truncated:
                yield scrapy.Request(f"{base}/statuses/extend?id={mid}", callback=self.parse_long_text,
                                     errback=self.long_text_failed, dont_filter=True,
                                     cb_kwargs={"source": source, "item": item})
            else:
                yield item
        if mblogs and page < source.max_pages:
            yield self._search(source, base, keyword, page + 1)

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
