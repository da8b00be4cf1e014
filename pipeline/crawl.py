"""Running spiders in this process with the yuqing configuration."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from pipeline.config import Settings
from pipeline.progress import CrawlProgress

log = logging.getLogger(__name__)


def scrapy_settings(config_path: Path, **overrides: Any) -> ScrapySettings:
    settings = ScrapySettings()
    settings.setmodule("crawlers.settings", priority="project")
    settings.set("YUQING_CONFIG", str(config_path), priority="cmdline")
    # The yuqing command configures logging itself; Scrapy's loggers propagate to it.
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")
    return settings


def spider_classes() -> dict[str, type]:
    from crawlers.spiders.news import NewsSpider
    from crawlers.spiders.rss import RssSpider
    from crawlers.spiders.tieba import TiebaSpider
    from crawlers.spiders.weibo import WeiboSpider

    return {"rss": RssSpider, "news": NewsSpider, "weibo": WeiboSpider, "tieba": TiebaSpider}


def job_dir(root: str | Path, spider: str, sources: list[str]) -> Path:
    """One JOBDIR per spider and set of sources: ``yuqing serve`` crawls each source alone,
    so each source resumes its own queue; an ad-hoc mix of sources gets its own folder."""
    names = "+".join(sorted(sources))
    label = names if len(names) <= 80 else hashlib.sha1(names.encode()).hexdigest()[:16]
    return Path(root) / f"{spider}-{label}"


def jobs_root(settings: Settings) -> Path | None:
    """Where JOBDIRs go: ``crawl.jobdir``, or beside the SQLite file for "auto"."""
    configured = settings.app.crawl.jobdir
    if configured != "auto":
        return Path(configured) if configured else None
    store = settings.app.store
    if store.startswith("sqlite:"):
        path = store.removeprefix("sqlite://")
        path = path[1:] if path.startswith("/") else path
        return Path(path).parent / "jobs"
    return Path("data/jobs")


def run_crawl(settings: Settings, source_names: list[str] | None = None, *, progress: CrawlProgress | None = None,
              **overrides: Any) -> dict[str, dict]:
    """Crawl the named sources (default: every enabled one); returns each spider's stats.

    With ``crawl.jobdir`` set, each crawler keeps its request queue and seen-request
    fingerprints in a Scrapy JOBDIR while it runs: a crawl that is killed or stopped early
    resumes where it stopped next time. A crawl that finishes removes its JOBDIR, so the
    next run starts fresh (list pages are fetched again; stored articles are skipped by id).
    jsonl sources are not crawled: they are imported (``yuqing crawl`` and ``yuqing import``).
    ``progress`` (a terminal's bar) counts pages and items in place of Scrapy's INFO log.
    """
    spiders = spider_classes()
    chosen = [settings.source(n) for n in source_names] if source_names else [
        s for s in settings.sources if s.enabled]
    by_spider: dict[str, list[str]] = defaultdict(list)
    for source in chosen:
        if source.spider == "jsonl":
            continue  # exports are imported (`yuqing crawl` does it through pipeline.cli)
        by_spider[source.spider].append(source.name)
    if not by_spider:
        return {}
    if progress is not None and progress.shown and "LOG_LEVEL" not in overrides:
        overrides["LOG_LEVEL"] = "WARNING"
    scrapy_cfg = scrapy_settings(settings.path, **overrides)
    logging.getLogger("scrapy").setLevel(scrapy_cfg.get("LOG_LEVEL"))
    process = CrawlerProcess(scrapy_cfg)
    logging.getLogger("scrapy").setLevel(scrapy_cfg.get("LOG_LEVEL"))  # after Scrapy's own dictConfig
    crawlers: dict[str, Crawler] = {}
    jobdirs: dict[str, Path] = {}
    root = jobs_root(settings)
    for name, sources in by_spider.items():
        crawler = process.create_crawler(spiders[name])
        if root and "JOBDIR" not in overrides:  # settings are this crawler's own copy until it starts
            jobdirs[name] = job_dir(root, name, sources)
            crawler.settings.set("JOBDIR", str(jobdirs[name]), priority="cmdline")
            if (jobdirs[name] / "requests.queue").exists():
                log.info("%s: resuming the crawl interrupted earlier (%s)", name, jobdirs[name])
        crawlers[name] = crawler
        if progress is not None:
            progress.attach(crawler)
        process.crawl(crawler, sources=",".join(sources))
    try:
        process.start()
    finally:
        if progress is not None:
            progress.close()
    for name, crawler in crawlers.items():
        if name in jobdirs and crawler.stats.get_value("finish_reason") == "finished":
            shutil.rmtree(jobdirs[name], ignore_errors=True)
    return {name: dict(c.stats.get_stats()) for name, c in crawlers.items()}
