"""Generic news sites: list pages → article pages.

List pages (the source's ``urls``, and their 下一页 up to ``max_pages``) are fetched on
every run; an article is fetched once: links whose post id is already in the store are
skipped. Body, title, author and dates come from :mod:`crawlers.extract` (trafilatura plus
per-site ``selectors``); the publish date follows field report B6 and is never the crawl
time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import scrapy
from scrapy.http import Response

from crawlers.extract import extract_article, list_links, next_page
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider
from pipeline.config import Source
from pipeline.ids import post_id


class NewsSpider(SourceSpider):
    name = "news"

    def requests_for(self, source: Source) -> Iterable[scrapy.Request]:
        for url in source.urls:
            yield self._list(source, url, 1)

    def _list(self, source: Source, url: str, page: int) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_list, errback=self.on_error,
                              cb_kwargs={"source": source, "page": page})

    @staticmethod
    def _selectors(source: Source) -> dict[str, str]:
        return source.selectors.model_dump(exclude_none=True) if source.selectors else {}

    def parse_list(self, response: Response, source: Source, page: int) -> Iterator[scrapy.Request]:
        text = self.page_text(response, source)
        if not self.page_ok(response, source, text):
            return
        selectors = self._selectors(source)
        links = list_links(text, response.url, selectors)
        self.items_found(source, response, text, len(links))
        platform = source.platform or "news"
        by_id = {post_id(platform, url=url): (url, date) for url, date in links}
        known = self.state_store.known_ids(list(by_id))
        self.crawler.stats.inc_value("yuqing/news/articles_known", len(known))
        for pid, (url, date) in by_id.items():
            if pid in known:
                continue
            yield scrapy.Request(url, callback=self.parse_article, errback=self.on_error,
                                 cb_kwargs={"source": source, "link": url, "list_date": date})
        following = next_page(text, response.url, selectors)
        if following and page < source.max_pages:
            yield self._list(source, following, page + 1)

    def parse_article(self, response: Response, source: Source, link: str,
                      list_date: str | None) -> Iterator[PostItem]:
        text = self.page_text(response, source)
        if not self.page_ok(response, source, text):
            return
        now = self.now()
        article = extract_article(text, response.url, now, self._selectors(source), list_date)
        for why in article.dates.rejected:
            self.crawler.stats.inc_value("yuqing/dates/rejected_future")
            self.logger.warning("source %s: %s: date refused: %s", source.name, link, why)
        if article.dates.published is not None:
            self.crawler.stats.inc_value(f"yuqing/dates/from/{article.dates.published_from.split()[0]}")
        else:
            self.crawler.stats.inc_value("yuqing/dates/missing")
            self.logger.info("source %s: no publish date found in %s", source.name, link)
        if not article.text:
            self.crawler.stats.inc_value("yuqing/news/no_body")
            self.logger.warning("source %s: no article text extracted from %s (selectors.body?)", source.name, link)
            return
        published, modified = article.dates.published, article.dates.modified
        yield PostItem(
            platform=source.platform or "news",
            source=source.name,
            url=link,  # the link as listed, so the id matches the one checked in parse_list
            title=article.title,
            text=article.text,
            author=article.author,
            published_at=published.value if published else None,
            published_precision=published.precision if published else None,
            raw_published=article.dates.published_raw,
            modified_at=modified.value if modified else None,
            crawled_at=now,
        )
