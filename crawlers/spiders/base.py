"""Base spider: turns sources.yaml into requests, so site spiders only parse.

A spider crawls every enabled source whose ``spider`` is its name, or only those named
with ``-a sources=a,b``; ``-a url=…`` crawls one ad-hoc URL with default options.
Errors a source answers with are reported once, through :meth:`source_error`, which
logs them with the source's name, counts them in the crawl stats and records a
source-health event. :meth:`page_ok` catches verification, login and rate-limit pages
served with HTTP 200 (B3); :meth:`items_found` turns a list page that suddenly yields
nothing into SCHEMA_CHANGED instead of a quiet day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers import signals as yuqing_signals
from crawlers.blocking import page_problem, says_no_results
from crawlers.dates import now_shanghai
from crawlers.encoding import decode_body
from pipeline.config import Settings, Source, load_settings
from pipeline.store import Store

_STATUS_KINDS = {403: "BLOCKED", 418: "BLOCKED", 401: "LOGIN_REQUIRED", 404: "NOT_FOUND", 410: "NOT_FOUND",
                 429: "RATE_LIMITED"}
# A page this large that yields nothing, with no history to compare with, is a broken parser.
PARSER_BROKEN_BYTES = 20_000


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
        settings.set("RETRY_TIMES", crawl.retry_times, priority="spider")
        settings.set("YUQING_BACKOFF_MAX", crawl.backoff_max, priority="spider")
        settings.set("AUTOTHROTTLE_MAX_DELAY", max(settings.getfloat("AUTOTHROTTLE_MAX_DELAY"), crawl.backoff_max),
                     priority="spider")

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

    @property
    def state_store(self) -> Store:
        """The store, for crawl state (last seen ids/times, yields) and known post ids; opened on first use."""
        if self._state_store is None:
            from pipeline.store import store_for
            self._state_store = store_for(self.yuqing)
        return self._state_store

    _state_store: Store | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recorded: set[tuple[str, str]] = set()

    def closed(self, reason: str) -> None:
        if self._state_store is not None:
            self._state_store.close()

    def page_text(self, response: Response, source: Source) -> str:
        """The body decoded by the B1 rules; undecodable bytes are counted, never raised."""
        text, encoding, bad = decode_body(response.body, response.headers.get("Content-Type", b"").decode("latin-1"))
        if bad:
            self.crawler.stats.inc_value("yuqing/decode_errors", bad)
            self.logger.warning("source %s: %d undecodable byte sequences in %s as %s", source.name, bad,
                                response.url, encoding)
        return text

    def page_ok(self, response: Response, source: Source, text: str) -> bool:
        """False (and a typed source error) for a captcha, login or rate-limit page (B3)."""
        problem = page_problem(response.url, text, response.request.meta.get("redirect_urls", ())
                               if response.request else ())
        if problem is None:
            return True
        kind, why = problem
        self.source_error(source.name, kind, f"{why} at {response.url}")
        return False

    def items_found(self, source: Source, response: Response, text: str, count: int,
                    remember: bool = True) -> None:
        """Compare what a list page yielded with what it yielded before (state in the store).

        Zero where there used to be items → SCHEMA_CHANGED; zero on a large page with no
        history → PARSER_BROKEN; zero on a page that says 未找到相关结果 → EMPTY, logged only.
        ``remember=False`` (thread and article pages: too many to keep) skips the history.
        """
        key = f"yield:{self.name}:{source.name}"
        history = (self.state_store.get_state(key) or {}) if remember else {}
        page = response.url
        if count:
            if remember and history.get(page) != count:
                history[page] = count
                self.state_store.set_state(key, history)
            return
        if says_no_results(text):
            self.crawler.stats.inc_value("yuqing/empty_results")
            self.logger.info("source %s: %s says it found nothing", source.name, page)
        elif history.get(page):
            self.source_error(source.name, "SCHEMA_CHANGED", f"{page} yielded no items; it yielded {history[page]} "
                                                             "last time (a redesign? check the selectors)")
        elif len(response.body) >= PARSER_BROKEN_BYTES:
            self.source_error(source.name, "PARSER_BROKEN", f"{page} ({len(response.body)} bytes) yielded no items")
        else:
            self.logger.info("source %s: %s yielded no items", source.name, page)

    def now(self) -> datetime:
        """The crawl time in Asia/Shanghai; relative publish times are resolved against it."""
        return now_shanghai()

    def source_error(self, source: str, kind: str, detail: str) -> None:
        """Log and count every occurrence; record one health event per source and kind per crawl
        (a site that blocks us answers every page with the same captcha)."""
        self.logger.error("source %s: %s: %s", source, kind, detail)
        self.crawler.stats.inc_value(f"yuqing/source_errors/{kind}")
        self.crawler.stats.inc_value(f"yuqing/source_errors/{source}/{kind}")
        if (source, kind) in self._recorded:
            return
        self._recorded.add((source, kind))
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
