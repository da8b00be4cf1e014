"""Running spiders in this process with the yuqing configuration."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from pipeline.config import Settings


def scrapy_settings(config_path: Path, **overrides: Any) -> ScrapySettings:
    settings = ScrapySettings()
    settings.setmodule("crawlers.settings", priority="project")
    settings.set("YUQING_CONFIG", str(config_path), priority="cmdline")
    # The yuqing command configures logging itself; Scrapy's loggers propagate to it.
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_crawl(settings: Settings, source_names: list[str] | None = None, **overrides: Any) -> dict[str, dict]:
    """Crawl the named sources (default: every enabled one); returns each spider's stats."""
    from crawlers.spiders.rss import RssSpider
    from crawlers.spiders.weibo import WeiboSpider

    spiders = {"rss": RssSpider, "weibo": WeiboSpider}
    chosen = [settings.source(n) for n in source_names] if source_names else [
        s for s in settings.sources if s.enabled]
    by_spider: dict[str, list[str]] = defaultdict(list)
    for source in chosen:
        by_spider[source.spider].append(source.name)
    scrapy_cfg = scrapy_settings(settings.path, **overrides)
    logging.getLogger("scrapy").setLevel(scrapy_cfg.get("LOG_LEVEL"))
    process = CrawlerProcess(scrapy_cfg)
    logging.getLogger("scrapy").setLevel(scrapy_cfg.get("LOG_LEVEL"))  # after Scrapy's own dictConfig
    crawlers = {}
    for name, sources in by_spider.items():
        crawler = process.create_crawler(spiders[name])
        crawlers[name] = crawler
        process.crawl(crawler, sources=",".join(sources))
    process.start()
    return {name: dict(c.stats.get_stats()) for name, c in crawlers.items()}
