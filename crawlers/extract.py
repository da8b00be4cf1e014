"""Article pages → title, body, author and dates: the one extractor news and rss share.

The body comes from trafilatura (boilerplate removal tuned on real news sites); title,
author and date candidates are read here from the page's metadata, because the date must
follow our own rules (field report B6: structured metadata, then the visible 发布时间 line,
then the URL; never the crawl time; nothing in the future). A site whose layout defeats
the generic rules gets CSS or XPath overrides in sources.yaml (``selectors``), which win
over everything generic. Pure functions over decoded text: the spiders do the I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import trafilatura
from parsel import Selector

from crawlers.dates import ArticleDates, ParsedTime, choose_dates, date_from_url

# <meta> names and properties that carry dates, best first (Open Graph, then CMS habits
# of Chinese sites: publishdate, pubdate, apub:time…).
_META_PUBLISHED = ("article:published_time", "og:published_time", "og:release_date", "publishdate",
                   "publish_date", "pubdate", "pubtime", "apub:time", "publishtime", "dc.date.issued",
                   "dc.date", "date")
_META_MODIFIED = ("article:modified_time", "og:updated_time", "lastmodified", "modified", "dc.date.modified")
_META_AUTHOR = ("author", "article:author", "dc.creator", "source", "contentsource")
_META_TITLE = ("og:title", "twitter:title", "headline", "articletitle")
_DATE_TEXT = r"(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?)"
# The visible line under a headline: "发布时间：2024-05-03 09:00  来源：某某日报".
_VISIBLE_PUBLISHED = re.compile(r"(?:发布时间|发表时间|发布日期|发稿时间|时间|日期)\s*[:：]?\s*" + _DATE_TEXT)
_VISIBLE_MODIFIED = re.compile(r"(?:更新时间|修改时间|最后更新|更新于)\s*[:：]?\s*" + _DATE_TEXT)
_DATE_NEAR_SOURCE = re.compile(_DATE_TEXT + r"\s*(?:\S{0,20}\s*)?来源\s*[:：]")
_SOURCE_LINE = re.compile(r"来源\s*[:：]\s*([^\s|｜　]{2,30})")
_AUTHOR_LINE = re.compile(r"(?:作者|记者|编辑|责任编辑)\s*[:：]\s*([^\s|｜　]{2,20})")
_TITLE_SUFFIX = re.compile(r"\s*[_|｜—–-]+\s*[^_|｜—–-]{1,30}$")
_HEAD_CHARS = 6000  # the 发布时间 line sits near the headline; JavaScript further down must not count


@dataclass(frozen=True)
class Article:
    title: str | None
    text: str | None
    author: str | None
    dates: ArticleDates


def _selected(sel: Selector, expr: str) -> list[str]:
    """Text of what a configured selector picks: ``xpath:…`` or CSS; ``::text``/``@attr`` as written."""
    nodes = sel.xpath(expr.removeprefix("xpath:")) if expr.startswith("xpath:") else sel.css(expr)
    out = []
    for node in nodes:
        value = node.get() if isinstance(node.root, str) else " ".join(node.xpath(".//text()").getall())
        value = " ".join(value.split())
        if value:
            out.append(value)
    return out


def _meta(sel: Selector, names: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    metas = {}
    for node in sel.xpath("//meta[@content]"):
        key = (node.attrib.get("property") or node.attrib.get("name") or node.attrib.get("itemprop") or "").lower()
        if key and key not in metas:
            metas[key] = node.attrib["content"].strip()
    for name in names:
        if metas.get(name):
            yield name, metas[name]


def _json_ld(sel: Selector) -> Iterator[dict[str, Any]]:
    """Every object in the page's JSON-LD blocks (``@graph`` and lists flattened); broken blocks skipped."""
    for raw in sel.xpath("//script[@type='application/ld+json']/text()").getall():
        try:
            doc = json.loads(raw.strip().rstrip(";"))
        except ValueError:
            continue
        stack = [doc]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                yield node
                stack.extend(v for k, v in node.items() if k == "@graph")


def _visible_head(sel: Selector) -> str:
    parts = sel.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall()
    return " ".join(" ".join(parts).split())[:_HEAD_CHARS]


def _clean_title(title: str | None) -> str | None:
    if not title:
        return None
    title = " ".join(title.split())
    while True:  # "标题_新闻中心_某某网" → "标题"
        shorter = _TITLE_SUFFIX.sub("", title)
        if shorter == title or len(shorter) < 4:
            return title
        title = shorter


def extract_article(html: str, url: str, now: datetime, selectors: dict[str, str] | None = None,
                    list_date: str | None = None) -> Article:
    """Title, body, author and dates of one article page.

    ``selectors`` (from sources.yaml) override the generic rules per field: ``title``,
    ``body``, ``published``, ``author``. ``list_date`` is the date the list page showed
    next to the link, the last resort before nothing.
    """
    selectors = selectors or {}
    sel = Selector(text=html)
    ld = list(_json_ld(sel))
    head = _visible_head(sel)

    title = None
    if selectors.get("title"):
        title = " ".join(_selected(sel, selectors["title"])) or None
    if not title:
        title = next((v for _, v in _meta(sel, _META_TITLE)), None) or next(
            (str(o["headline"]) for o in ld if o.get("headline")), None)
    if not title:
        title = sel.xpath("normalize-space(//h1)").get() or _clean_title(sel.xpath("string(//title)").get())

    if selectors.get("body"):
        text = "\n".join(_selected(sel, selectors["body"])) or None
    else:
        text = trafilatura.extract(html, url=url, include_comments=False, include_tables=False,
                                   favor_precision=True, deduplicate=False) or None
    if text and title and text.startswith(title):  # the headline often leads the extracted body
        text = text[len(title):].lstrip() or text

    author = None
    if selectors.get("author"):
        author = " ".join(_selected(sel, selectors["author"])) or None
    if not author:
        for o in ld:
            a = o.get("author")
            a = a[0] if isinstance(a, list) and a else a
            author = (a.get("name") if isinstance(a, dict) else a) or None
            if author:
                author = str(author)
                break
    if not author:
        m = _AUTHOR_LINE.search(head) or _SOURCE_LINE.search(head)
        author = m.group(1) if m else next((v for _, v in _meta(sel, _META_AUTHOR)), None)

    published: list[tuple[str, str | ParsedTime]] = []
    if selectors.get("published"):
        for value in _selected(sel, selectors["published"]):  # the element may hold "发布时间：… 来源：…"
            m = re.search(_DATE_TEXT, value)
            published.append(("selector", m.group(1) if m and len(value) > len(m.group(1)) + 2 else value))
    published += [(f"meta {k}", v) for k, v in _meta(sel, _META_PUBLISHED)]
    published += [("json-ld", str(o["datePublished"])) for o in ld if o.get("datePublished")]
    published += [("visible", m.group(1)) for m in _VISIBLE_PUBLISHED.finditer(head)]
    published += [("visible", m.group(1)) for m in _DATE_NEAR_SOURCE.finditer(head)]
    url_date = date_from_url(url, now)
    if url_date:
        published.append(("url", url_date))
    if list_date:
        published.append(("list", list_date))
    modified = [(f"meta {k}", v) for k, v in _meta(sel, _META_MODIFIED)]
    modified += [("json-ld", str(o["dateModified"])) for o in ld if o.get("dateModified")]
    modified += [("visible", m.group(1)) for m in _VISIBLE_MODIFIED.finditer(head)]
    dates = choose_dates(published, modified, now)
    return Article(title=title or None, text=text, author=author, dates=dates)


def summary_only(body: str | None, min_chars: int = 200) -> bool:
    """True when a feed item's body is a teaser rather than the article (short, or ends in …)."""
    if not body:
        return True
    text = " ".join(Selector(text=f"<div>{body}</div>").xpath("//text()").getall()).strip()
    return len(text) < min_chars or text.endswith(("…", "...", "[...]", "阅读全文", "全文"))


# -- list pages -----------------------------------------------------------------------------
_CHROME = re.compile(r"nav|menu|header|footer|top-?bar|crumb|copyright|login|share|toolbar", re.IGNORECASE)
_ARTICLE_PATH = re.compile(r"\.(?:s?html?|php|aspx?)$|/\d{4,}[^/]*$|/(?:19|20)\d{2}[/-]?\d{2}", re.IGNORECASE)
_LIST_DATE = re.compile(r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s+\d{1,2}:\d{2})?"
                        r"|(?<!\d)\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2})?(?!\d)")
_NEXT_TEXT = ("下一页", "下页", "后一页", "next", "›", "»", ">")
MIN_TITLE_CHARS = 6


def _in_chrome(node: Selector) -> bool:
    """Inside the site's navigation, header or footer (by tag, id or class)."""
    for anc in node.xpath("ancestor::*"):
        tag = anc.root.tag if isinstance(anc.root.tag, str) else ""
        if tag in ("nav", "header", "footer"):
            return True
        if _CHROME.search(f"{anc.attrib.get('id', '')} {anc.attrib.get('class', '')}"):
            return True
    return False


def _same_site(host: str, page_host: str) -> bool:
    def base(h: str) -> str:
        return ".".join(h.split(".")[-2:]) if not h.replace(".", "").isdigit() else h
    return bool(host) and base(host) == base(page_host)


def list_links(html: str, page_url: str, selectors: dict[str, str] | None = None) -> list[tuple[str, str | None]]:
    """Article links on a list page with the date shown beside each (or None), in page order.

    With a ``links`` selector only what it picks counts; otherwise links outside the page's
    navigation/footer, on the same site, with headline-length text and an article-like path.
    """
    from urllib.parse import urljoin, urlsplit

    selectors = selectors or {}
    sel = Selector(text=html)
    page_host = urlsplit(page_url).hostname or ""
    if selectors.get("links"):
        expr = selectors["links"]
        picked = sel.xpath(expr.removeprefix("xpath:")) if expr.startswith("xpath:") else sel.css(expr)
        anchors = [(n, n.get() if isinstance(n.root, str) else n.attrib.get("href")) for n in picked]
        generic = False
    else:
        anchors = [(a, a.attrib.get("href")) for a in sel.xpath("//body//a[@href]")]
        generic = True
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for node, href in anchors:
        if not href or href.startswith(("javascript:", "#", "mailto:")):
            continue
        url = urljoin(page_url, href.strip())
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or url in seen:
            continue
        if generic:
            title = " ".join(" ".join(node.xpath(".//text()").getall()).split())
            if (len(title) < MIN_TITLE_CHARS or not _same_site(parts.hostname or "", page_host)
                    or not _ARTICLE_PATH.search(parts.path) or _in_chrome(node)):
                continue
        seen.add(url)
        holder = node.xpath("ancestor::*[self::li or self::tr or self::dd or self::p or self::div][1]")
        around = " ".join(" ".join(holder.xpath(".//text()").getall()).split()) if holder else ""
        m = _LIST_DATE.search(around.replace(" ".join(node.xpath(".//text()").getall()), " "))
        out.append((url, m.group(0) if m else None))
    return out


def next_page(html: str, page_url: str, selectors: dict[str, str] | None = None) -> str | None:
    """The list's next page: the ``next_page`` selector, or a link reading 下一页 / next."""
    from urllib.parse import urljoin

    sel = Selector(text=html)
    expr = (selectors or {}).get("next_page")
    if expr:
        nodes = sel.xpath(expr.removeprefix("xpath:")) if expr.startswith("xpath:") else sel.css(expr)
        href = next((n.get() if isinstance(n.root, str) else n.attrib.get("href") for n in nodes), None)
    else:
        href = next((a.attrib.get("href") for a in sel.xpath("//a[@href]")
                     if " ".join(a.xpath(".//text()").getall()).strip().lower() in _NEXT_TEXT), None)
    if not href or href.startswith(("javascript:", "#")):
        return None
    return urljoin(page_url, href)
