"""RSS 2.0 / Atom / RDF feeds, parsed with feedparser (which also resolves the encoding).

Many news feeds carry only a teaser. With ``follow_articles`` (the default) an item whose
body is a short summary is completed from its article page by the same extractor the news
spider uses; when that page cannot be had, the item keeps its summary (never dropped).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import feedparser
import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.blocking import page_problem
from crawlers.dates import parse_cn_time
from crawlers.encoding import decode_body
from crawlers.extract import extract_article, summary_only
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider
from pipeline.config import Source

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


class RssSpider(SourceSpider):
    name = "rss"

    def requests_for(self, source: Source) -> Iterable[scrapy.Request]:
        for url in source.urls:
            yield scrapy.Request(url, callback=self.parse_feed, errback=self.on_error, cb_kwargs={"source": source})

    def parse_feed(self, response: Response, source: Source) -> Iterator[PostItem | scrapy.Request]:
        if not response.body.strip():
            self.source_error(source.name, "EMPTY_BODY", f"empty response from {response.url}")
            return
        text, encoding, bad = decode_body(response.body, response.headers.get("Content-Type", b"").decode("latin-1"))
        if bad:
            self.crawler.stats.inc_value("yuqing/decode_errors", bad)
            self.logger.warning("source %s: %d undecodable byte sequences in %s as %s", source.name, bad,
                                response.url, encoding)
        # feedparser gets text, with the now-wrong encoding declaration removed
        feed = feedparser.parse(_XML_DECL.sub("<?xml version=\"1.0\"?>", text, count=1))
        entries = [e for e in feed.entries if e.get("title") or e.get("link") or _entry_body(e)]
        if not entries:
            if feed.bozo:
                problem = page_problem(response.url, text, response.request.meta.get("redirect_urls", ())
                                       if response.request else ())
                kind = problem[0] if problem else "MALFORMED"
                self.source_error(source.name, kind, f"not a usable feed at {response.url}: {feed.bozo_exception}")
            else:
                self.logger.info("source %s: feed %s has no entries", source.name, response.url)
            return
        if feed.bozo:  # recoverable: feedparser got entries out of broken XML
            self.crawler.stats.inc_value("yuqing/feeds/bozo")
            self.logger.warning("source %s: feed %s is not well-formed (%s); using the %d entries recovered",
                                source.name, response.url, feed.bozo_exception, len(entries))
        now = self.now()
        for entry in entries:
            raw_time = entry.get("published") or entry.get("updated")
            parsed = parse_cn_time(raw_time, now)
            if raw_time and parsed is None:
                self.crawler.stats.inc_value("yuqing/dates/unparsed")
            link = entry.get("link")
            item = PostItem(
                platform=source.platform or "rss",
                source=source.name,
                url=response.urljoin(link) if link else None,
                platform_id=None if link else entry.get("id"),
                title=entry.get("title"),
                text=_entry_body(entry),
                author=entry.get("author"),
                published_at=parsed.value if parsed else None,
                published_precision=parsed.precision if parsed else None,
                raw_published=raw_time,
                crawled_at=now,
            )
            if source.follow_articles and item.url and summary_only(item.text):
                yield scrapy.Request(item.url, callback=self.parse_article, errback=self.article_failed,
                                     cb_kwargs={"source": source, "item": item})
            else:
                yield item

    def parse_article(self, response: Response, source: Source, item: PostItem) -> Iterator[PostItem]:
        """Complete a summary-only item from its article page; keep the summary if that fails."""
        text = self.page_text(response, source)
        if self.page_ok(response, source, text):
            article = extract_article(text, response.url, self.now())
            if article.text and len(article.text) > len(item.text or ""):
                item.text = article.text
                item.title = item.title or article.title
                item.author = item.author or article.author
                self.crawler.stats.inc_value("yuqing/rss/articles_followed")
            else:
                self.crawler.stats.inc_value("yuqing/rss/article_not_extracted")
            dates = article.dates
            if item.published_at is None and dates.published:  # the feed's own date wins
                item.published_at, item.published_precision = dates.published.value, dates.published.precision
            if dates.modified:
                item.modified_at = dates.modified.value
        yield item

    def article_failed(self, failure: Failure) -> Iterator[PostItem]:
        """The article page failed (404, timeout): the item goes on with its summary. The feed
        itself works, so this is a warning and a stat, not a source-health event."""
        request = failure.request
        self.crawler.stats.inc_value("yuqing/rss/article_failed")
        self.logger.warning("source %s: article %s failed (%s); keeping the feed's summary",
                            request.cb_kwargs["source"].name, request.url, failure.getErrorMessage())
        yield request.cb_kwargs["item"]


def _entry_body(entry: feedparser.FeedParserDict) -> str | None:
    contents = entry.get("content") or []
    if contents:
        return max((c.get("value") or "" for c in contents), key=len)
    return entry.get("summary") or entry.get("description")
