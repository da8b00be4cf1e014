"""RSS 2.0 / Atom / RDF feeds, parsed with feedparser (which also resolves the encoding)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import feedparser
import scrapy
from scrapy.http import Response

from crawlers.dates import parse_cn_time
from crawlers.encoding import decode_body
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider
from pipeline.config import Source

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


class RssSpider(SourceSpider):
    name = "rss"

    def requests_for(self, source: Source) -> Iterable[scrapy.Request]:
        for url in source.urls:
            yield scrapy.Request(url, callback=self.parse_feed, errback=self.on_error, cb_kwargs={"source": source})

    def parse_feed(self, response: Response, source: Source) -> Iterator[PostItem]:
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
                kind = "BLOCKED" if _looks_like_login(response) else "MALFORMED"
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
            yield PostItem(
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


def _entry_body(entry: feedparser.FeedParserDict) -> str | None:
    contents = entry.get("content") or []
    if contents:
        return max((c.get("value") or "" for c in contents), key=len)
    return entry.get("summary") or entry.get("description")


def _looks_like_login(response: Response) -> bool:
    head = response.body[:4096].decode("utf-8", "replace").lower()
    return any(m in head for m in ("login", "登录", "passport", "visitor system", "安全验证", "captcha"))
