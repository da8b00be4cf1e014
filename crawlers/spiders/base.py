"""Base spider: turns sources.yaml into requests, so site spiders only parse.

A spider crawls every enabled source whose ``spider`` is its name, or only those named
with ``-a sources=a,b``; ``-a url=…`` crawls one ad-hoc URL with default options.
Errors a source answers with are reported once, through :meth:`source_error`, which
logs them with the source's name, counts them in the crawl stats and records a
source-health event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers import signals as yuqing_signals
from crawlers.dates import now_shanghai
from pipeline.config import Settings, Source, load_settings

_STATUS_KINDS = {403: "BLOCKED", 418: "BLOCKED", 401: "LOGIN_REQUIRED", 404: "NOT_FOUND", 410: "NOT_FOUND",
                 429: "RATE_LIMITED"}


class SourceSpider(scrapy.Spider):
    """Subclasses set ``name`` and implement ``requests_for(source)`` and their callbacks."""

    yuqing: Settings

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        config = load_settings(settings.get("YUQING_CONFIG"))
        crawl = config.app.crawl
        slots: dict[str, dict[str, float]] = {}
        for source in config.sources:
            delay = crawl.download_delay if source.download_delay is None else source.download_delay
            for url in source.urls:
                host = urlsplit(url).hostname
                if host:
                    slots[host] = {"delay": max(delay, slots.get(host, {}).get("delay", 0.0))}
        settings.set("USER_AGENT", crawl.user_agent, priority="spider")
        settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
        settings.set("YUQING_DEFAULT_DELAY", crawl.download_delay, priority="spider")
        settings.set("DOWNLOAD_DELAY", min([crawl.download_delay, *(s["delay"] for s in slots.values())]),
                     priority="spider")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", crawl.concurrency_per_domain, priority="spider")
        settings.set("MEMUSAGE_LIMIT_MB", crawl.memory_limit_mb, priority="spider")
        settings.set("MEMUSAGE_WARNING_MB", crawl.memory_limit_mb * 3 // 4, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.yuqing = load_settings(crawler.settings.get("YUQING_CONFIG"))
        return spider

    def selected_sources(self) -> list[Source]:
        url = getattr(self, "url", None)
        if url:
            extra = {"keywords": [k for k in getattr(self, "keywords", "").split(",") if k]} \
                if self.name == "weibo" else {}
            return [Source(name=urlsplit(url).hostname or "adhoc", spider=self.name, urls=[url], **extra)]
        wanted = [s for s in getattr(self, "sources", "").split(",") if s]
        if wanted:
            return [self.yuqing.source(n) for n in wanted]
        return [s for s in self.yuqing.sources if s.spider == self.name and s.enabled]

    async def start(self):
        for source in self.selected_sources():
            for request in self.requests_for(source):
                yield request

    def requests_for(self, source: Source) -> Iterable[scrapy.Request]:
        raise NotImplementedError

    def now(self) -> datetime:
        """The crawl time in Asia/Shanghai; relative publish times are resolved against it."""
        return now_shanghai()

    def source_error(self, source: str, kind: str, detail: str) -> None:
        self.logger.error("source %s: %s: %s", source, kind, detail)
        self.crawler.stats.inc_value(f"yuqing/source_errors/{kind}")
        self.crawler.stats.inc_value(f"yuqing/source_errors/{source}/{kind}")
        self.crawler.signals.send_catch_log(yuqing_signals.source_health, source=source, kind=kind, detail=detail)

    def on_error(self, failure: Failure) -> None:
        """Errback for every request: HTTP statuses and network errors become typed source errors."""
        request = failure.request
        source = request.cb_kwargs.get("source").name if request.cb_kwargs.get("source") else "unknown"
        if failure.check(HttpError):
            status = failure.value.response.status
            kind = _STATUS_KINDS.get(status, "HTTP_ERROR")
            self.source_error(source, kind, f"HTTP {status} for {request.url}")
        else:
            self.source_error(source, "UNREACHABLE", f"{failure.type.__name__}: {failure.getErrorMessage()} "
                                                     f"for {request.url}")
