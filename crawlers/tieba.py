"""Baidu Tieba page shapes: forum thread lists and thread pages → plain records.

Tieba's forum page (``/f?kw=…``) ships its thread list inside an HTML comment in a
``<code class="pagelet_html">`` block (rendered by JavaScript), so the comment is parsed
as HTML too. Each thread ``<li>`` and each floor ``<div class="l_post">`` carries a JSON
``data-field`` with ids, reply counts and authors, which is steadier than the markup
around it. Pure functions over decoded text; the spider does the requests.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from parsel import Selector

_DATE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2})?|\d{1,2}-\d{1,2}|\d{1,2}:\d{2})\s*$")
_COMMENTED = re.compile(r"<code[^>]*class=\"pagelet_html\"[^>]*>\s*<!--(.*?)-->\s*</code>", re.DOTALL)


@dataclass(frozen=True)
class Thread:
    tid: str
    url: str
    title: str
    author: str | None
    replies: int
    last_reply: str | None  # as shown: "12:30", "5-3" or "2024-05-03"
    pinned: bool


@dataclass(frozen=True)
class Floor:
    pid: str
    number: int
    author: str | None
    text: str
    time: str | None
    comments: int


def _field(node: Selector) -> dict:
    try:
        value = json.loads(node.attrib.get("data-field") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(node: Selector | None) -> str:
    if node is None:
        return ""
    return " ".join(" ".join(node.xpath(".//text()").getall()).split())


def _int(value: object) -> int:
    try:
        return int(str(value).replace(",", "").strip())
    except (TypeError, ValueError):
        return 0


def forum_threads(html: str, page_url: str) -> list[Thread]:
    """The threads of a forum list page, pinned ones included (flagged)."""
    parts = [Selector(text=html), *(Selector(text=h) for h in _COMMENTED.findall(html))]
    out: list[Thread] = []
    seen: set[str] = set()
    for li in (li for sel in parts for li in sel.css("li.j_thread_list")):
        field = _field(li)
        tid = str(field.get("id") or "")
        link = li.css("a.j_th_tit")
        href = link.attrib.get("href") if link else None
        if not tid and href:
            tid = href.rstrip("/").rsplit("/", 1)[-1]
        if not tid.isdigit() or tid in seen:
            continue
        seen.add(tid)
        title = (link.attrib.get("title") if link else None) or _text(link[0] if link else None)
        replies = field.get("reply_num")
        if replies is None:
            replies = li.css("span.threadlist_rep_num::text").get()
        last = li.css("span.threadlist_reply_date::text").get() or li.css("span.is_show_create_time::text").get()
        out.append(Thread(
            tid=tid, url=urljoin(page_url, href or f"/p/{tid}"), title=title, author=field.get("author_name"),
            replies=_int(replies), last_reply=last.strip() if last else None,
            pinned=bool(field.get("is_top")) or "thread_top" in (li.attrib.get("class") or ""),
        ))
    return out


def thread_floors(html: str) -> tuple[str | None, int | None, list[Floor]]:
    """(thread title, reply count, floors of this page) of a thread page ``/p/<tid>``."""
    sel = Selector(text=html)
    title = sel.css("h3.core_title_txt::attr(title)").get() or sel.css("h1.core_title_txt::attr(title)").get()
    replies = sel.css("li.l_reply_num span.red::text").get()
    floors: list[Floor] = []
    for div in sel.css("div.l_post"):
        field = _field(div)
        content = field.get("content") or {}
        author = field.get("author") or {}
        pid = str(content.get("post_id") or div.attrib.get("data-pid") or "")
        body = div.css("div.d_post_content")
        if not pid or not body:
            continue
        for br in body.xpath(".//br"):  # keep line breaks as breaks, not run-together sentences
            br.root.tail = "\n" + (br.root.tail or "")
        text = "\n".join(line.strip() for line in "".join(body[0].xpath(".//text()").getall()).splitlines()
                         if line.strip())
        when = content.get("date") or next(
            (t.strip() for t in reversed(div.css("span.tail-info::text").getall()) if _DATE.match(t)), None)
        floors.append(Floor(
            pid=pid, number=_int(content.get("post_no")) or len(floors) + 1,
            author=author.get("user_name") or author.get("name") or div.css("a.p_author_name::text").get(),
            text=text, time=when, comments=_int(content.get("comment_num")),
        ))
    return title, (_int(replies) if replies is not None else None), floors
