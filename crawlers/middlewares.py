"""Downloader middleware: back off from a site that says we are too fast (field report B3).

An HTTP 429, or a 200 page that says 访问过于频繁 / 请求过于频繁, slows that site's download
slot down (its delay doubles, up to ``YUQING_BACKOFF_MAX`` seconds) and the request is
retried through Scrapy's own ``get_retry_request`` (``RETRY_TIMES``, retry stats). When the
retries are spent the response goes on: a 429 reaches the spider's errback, a 频繁 page its
callback, and both are reported there as RATE_LIMITED source errors. AutoThrottle lets the
delay come back down as the site answers normally again.
"""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response, TextResponse

from crawlers.blocking import is_rate_limit_notice

log = logging.getLogger(__name__)
BACKOFF_BASE = 1.0  # seconds: the first delay of a site that had none


class RateLimitBackoff:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_delay = crawler.settings.getfloat("YUQING_BACKOFF_MAX", 60.0)
        self.max_retries = crawler.settings.getint("RETRY_TIMES", 3)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RateLimitBackoff:
        if not crawler.settings.getbool("RETRY_ENABLED"):
            raise NotConfigured("RETRY_ENABLED is off")
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status == 429:
            reason = "HTTP 429"
        elif (response.status == 200 and isinstance(response, TextResponse) and len(response.body) < 32_000
              and is_rate_limit_notice(response.text)):
            reason = "rate-limit notice"
        else:
            return response
        self.crawler.stats.inc_value("yuqing/rate_limited")
        delay = self._slow_down(request)
        retry = get_retry_request(request, spider=self.crawler.spider, reason=f"rate_limited ({reason})",
                                  max_retry_times=request.meta.get("max_retry_times", self.max_retries))
        if retry is None:
            return response
        log.warning("%s from %s: slowing the site down to one request every %.1f s and retrying",
                    reason, request.url, delay)
        return retry

    def _slow_down(self, request: Request) -> float:
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        slot = downloader.slots.get(request.meta.get("download_slot")) if downloader else None
        if slot is None:
            return 0.0
        slot.delay = min(max(slot.delay * 2, BACKOFF_BASE), self.max_delay)
        return slot.delay
