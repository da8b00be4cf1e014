"""AutoThrottle with a per-site floor: each source's configured delay.

Scrapy's AutoThrottle never goes below the global ``DOWNLOAD_DELAY``. yuqing sets that
to the smallest delay of any source and lists each source's host in ``DOWNLOAD_SLOTS``
with its own delay; this subclass keeps every slot at or above its own configured delay
(``YUQING_DEFAULT_DELAY`` for hosts no source names).
"""

from __future__ import annotations

from scrapy import Spider
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Request, Response


class SourceAwareAutoThrottle(AutoThrottle):
    def _spider_opened(self, spider: Spider) -> None:
        super()._spider_opened(spider)
        settings = self.crawler.settings
        self.default_floor = settings.getfloat("YUQING_DEFAULT_DELAY", self.mindelay)
        self.floors = {host: float(opts.get("delay", self.default_floor))
                       for host, opts in settings.getdict("DOWNLOAD_SLOTS").items()}

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        global_floor = self.mindelay
        self.mindelay = self.floors.get(request.meta.get("download_slot"), self.default_floor)
        try:
            super()._response_downloaded(response, request, spider)
        finally:
            self.mindelay = global_floor
