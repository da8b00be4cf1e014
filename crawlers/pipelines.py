"""Item pipeline: a thin adapter that batches items into the Processor and the store.

Analysis (jieba, the transformer) runs on one dedicated worker thread so the reactor keeps
downloading and the model sees one batch at a time. One thread, not Twisted's pool: torch
allocations spread over many threads' malloc arenas grew the crawl past 2 GB.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawlers import signals as yuqing_signals
from pipeline.config import Settings, load_settings
from pipeline.errors import StoreUnavailable
from pipeline.ingest import store_batch
from pipeline.processor import BatchReport, Processor
from pipeline.spool import Spool
from pipeline.store import Store, store_for
from pipeline.stories import StoryBook

log = logging.getLogger(__name__)


class ProcessorPipeline:
    def __init__(self, crawler: Crawler, settings: Settings, processor: Processor, store: Store) -> None:
        self.crawler = crawler
        self.spool = Spool(Path(settings.app.spool))
        self.stats = crawler.stats
        self.settings = settings
        self.processor = processor
        self.store = store
        self.book = StoryBook(settings, store)
        self.batch_size = settings.app.crawl.batch_size
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yuqing-processor")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProcessorPipeline:
        path = crawler.settings.get("YUQING_CONFIG")
        if not path:
            raise NotConfigured("YUQING_CONFIG is not set")
        settings = load_settings(path)
        pipe = cls(crawler, settings, Processor(settings), store_for(settings))
        crawler.signals.connect(pipe.record_health, signal=yuqing_signals.source_health)
        return pipe

    def open_spider(self) -> None:
        if self.spool.pending():
            result = self.spool.replay(self.store, self.book)
            self.stats.inc_value("yuqing/spool/replayed", result.inserted + result.updated)

    def record_health(self, source: str, kind: str, detail: str) -> None:
        with self._lock:
            self.store.record_health(source, kind, detail)

    async def process_item(self, item: Any) -> Any:
        self._buffer.append(ItemAdapter(item).asdict())
        if len(self._buffer) >= self.batch_size:
            batch, self._buffer = self._buffer, []
            await asyncio.wrap_future(self._worker.submit(self._flush, batch))
        return item

    async def close_spider(self) -> None:
        try:
            if self._buffer:
                batch, self._buffer = self._buffer, []
                await asyncio.wrap_future(self._worker.submit(self._flush, batch))
        finally:
            self._worker.shutdown(wait=True)
            self.store.close()

    def _flush(self, batch: list[dict[str, Any]]) -> None:
        with self._lock:
            report = BatchReport()
            for raw in batch:
                for key in ("published_at", "modified_at", "crawled_at"):
                    if isinstance(raw.get(key), datetime):
                        raw[key] = raw[key].isoformat()
            posts = self.processor.process(batch, report)
            for reason, n in report.dropped.items():
                self.stats.inc_value(f"yuqing/dropped/{reason}", n)
            try:
                result = store_batch(posts, self.store, self.book)
            except StoreUnavailable as exc:
                path = self.spool.put(posts)
                self.stats.inc_value("yuqing/store/spooled", len(posts))
                log.error("store unavailable, %d analysed posts spooled to %s (replayed on the next run): %s",
                          len(posts), path, exc)
                return
            self.stats.inc_value("yuqing/store/inserted", result.inserted)
            self.stats.inc_value("yuqing/store/updated", result.updated)
            if result.failed:
                self.stats.inc_value("yuqing/store/dead_lettered", result.failed)
            self.stats.inc_value("yuqing/processed", len(posts))
