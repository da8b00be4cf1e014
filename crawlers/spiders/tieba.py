"""Baidu Tieba: forum list (``/f?kw=…``) → threads → the first page of replies (``/p/<tid>``).

Each floor of a thread is a post (the first floor carries the thread title and its reply
count). The forum page is fetched on every run; a thread is fetched again only when its
reply count changed since the last run (state in the store), so a busy forum costs one
request per new or active thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import scrapy
from scrapy.http import Response

from crawlers import tieba
from crawlers.dates import parse_cn_time
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider
from pipeline.config import Source


class TiebaSpider(SourceSpider):
    name = "tieba"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._replies: dict[str, dict[str, int]] = {}  # source → {tid: reply count seen this run}

    def requests_for(self, source: Source) -> Iterable[scrapy.Request]:
        for url in source.urls:
            yield scrapy.Request(url, callback=self.parse_forum, errback=self.on_error, dont_filter=True,
                                 cb_kwargs={"source": source})

    def _state_key(self, source: Source) -> str:
        return f"tieba:{source.name}:replies"

    def parse_forum(self, response: Response, source: Source) -> Iterator[scrapy.Request]:
        text = self.page_text(response, source)
        if not self.page_ok(response, source, text):
            return
        threads = tieba.forum_threads(text, response.url)
        self.items_found(source, response, text, len(threads))
        before = (self.state_store.get_state(self._state_key(source)) or {}) if source.incremental else {}
        seen = self._replies.setdefault(source.name, {})
        for thread in threads:
            seen[thread.tid] = thread.replies
            if before.get(thread.tid) == thread.replies:
                self.crawler.stats.inc_value("yuqing/tieba/threads_unchanged")
                continue
            yield scrapy.Request(thread.url, callback=self.parse_thread, errback=self.on_error,
                                 cb_kwargs={"source": source, "thread": thread})

    def parse_thread(self, response: Response, source: Source, thread: tieba.Thread) -> Iterator[PostItem]:
        text = self.page_text(response, source)
        if not self.page_ok(response, source, text):
            self._replies.get(source.name, {}).pop(thread.tid, None)  # try this thread again next run
            return
        title, replies, floors = tieba.thread_floors(text)
        self.items_found(source, response, text, len(floors), remember=False)
        if not floors:
            self._replies.get(source.name, {}).pop(thread.tid, None)
            return
        now = self.now()
        for floor in floors:
            parsed = parse_cn_time(floor.time, now)
            if floor.time and parsed is None:
                self.crawler.stats.inc_value("yuqing/dates/unparsed")
            first = floor.number == 1
            yield PostItem(
                platform=source.platform or "tieba",
                source=source.name,
                platform_id=floor.pid,
                url=thread.url if first else f"{thread.url}?pid={floor.pid}",
                title=(title or thread.title) if first else None,
                text=floor.text,
                author=floor.author,
                published_at=parsed.value if parsed else None,
                published_precision=parsed.precision if parsed else None,
                raw_published=floor.time,
                crawled_at=now,
                engagement={"replies": replies if replies is not None else thread.replies} if first
                else {"comments": floor.comments},
            )

    def closed(self, reason: str) -> None:
        for source_name, replies in self._replies.items():
            if replies and reason == "finished":
                self.state_store.set_state(f"tieba:{source_name}:replies", replies)
        super().closed(reason)
