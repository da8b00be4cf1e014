"""A replay site on 127.0.0.1 that serves recorded posts as an RSS feed and the Weibo API.

``python -m pipeline.demo.site [--port N]`` prints its URL and serves until stopped.
The posts come from ``pipeline/demo/data`` (see its PROVENANCE.md for what the replay
adds). Nothing here is used by the crawlers themselves: they only see HTTP.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
from datetime import datetime, timedelta
from email.utils import format_datetime
from functools import cached_property
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape as xml_escape

from crawlers.dates import SHANGHAI

DATA = Path(__file__).parent / "data"
PAGE_SIZE = 20
LONG_TEXT = 140
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "big")


def weibo_created_at(ts: datetime) -> str:
    """Weibo's own format, independent of the machine's locale."""
    return f"{_WEEKDAYS[ts.weekday()]} {_MONTHS[ts.month - 1]} {ts:%d %H:%M:%S} +0800 {ts:%Y}"


class ReplayData:
    def __init__(self, root: Path = DATA) -> None:
        self.root = root

    def _read(self, name: str) -> list[dict[str, Any]]:
        with (self.root / name).open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    @cached_property
    def mblogs(self) -> list[dict[str, Any]]:
        """The COVID-19 posts as mblog objects, newest first (as Weibo search lists them)."""
        out = []
        for rec in self._read("weibo_covid19_posts_2020.jsonl"):
            h = _digest(rec["text"])
            day = datetime.fromisoformat(rec["published_at"]).replace(tzinfo=SHANGHAI)
            ts = day + timedelta(seconds=7 * 3600 + h % (17 * 3600))
            mid = str(4_400_000_000_000_000 + h % 100_000_000_000_000)
            text = _weibo_html(rec["text"])
            long = len(rec["text"]) > LONG_TEXT
            out.append({
                "id": mid, "mid": mid, "created_at": weibo_created_at(ts), "_ts": ts.timestamp(),
                "text": _weibo_html(rec["text"][:LONG_TEXT]) + f'...<a href="/status/{mid}">全文</a>' if long else text,
                "isLongText": long, "_full": text,
                "user": {"id": 5_000_000_000 + _digest(rec.get("author") or "anon") % 1_000_000_000,
                         "screen_name": rec.get("author") or "微博用户"},
                "reposts_count": 0, "comments_count": 0, "attitudes_count": 0, "source": "微博 weibo.com",
            })
        out.sort(key=lambda m: m["_ts"], reverse=True)
        return out

    @cached_property
    def by_mid(self) -> dict[str, dict[str, Any]]:
        return {m["mid"]: m for m in self.mblogs}

    @cached_property
    def rss(self) -> bytes:
        items = sorted(self._read("weibo_hot_search_2024_2026.jsonl"), key=lambda r: r["published_at"], reverse=True)
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>',
                 "<title>微博热搜（回放）</title><link>https://s.weibo.com/top/summary</link>",
                 "<description>Recorded Weibo hot-search summaries served by the yuqing demo</description>"]
        for r in items:
            ts = datetime.fromisoformat(r["published_at"])
            if ts.tzinfo is None:
                ts = ts.replace(tzinfo=SHANGHAI)
            parts.append(
                f"<item><title>{xml_escape(r.get('title') or '')}</title><link>{xml_escape(r['url'])}</link>"
                f"<guid>{xml_escape(r['url'])}</guid><description>{xml_escape(r['text'])}</description>"
                f"<category>{xml_escape(r.get('category') or '')}</category>"
                f"<pubDate>{format_datetime(ts)}</pubDate></item>")
        parts.append("</channel></rss>\n")
        return "".join(parts).encode("utf-8")


def _weibo_html(text: str) -> str:
    """Topics become links, as in Weibo's ``text`` field."""
    return re.sub(r"#([^#]{1,40})#", lambda m: f'<a href="/search?q=%23{m.group(1)}%23">#{escape(m.group(1))}#</a>',
                  escape(text, quote=False))


class ReplayHandler(BaseHTTPRequestHandler):
    data: ReplayData
    server_version = "yuqing-replay/1.0"

    def log_message(self, fmt: str, *args: Any) -> None:  # keep the demo's console readable
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/robots.txt":
            self._send(200, "text/plain; charset=utf-8", b"User-agent: *\nAllow: /\n")
        elif url.path == "/rss/hot-search.xml":
            self._send(200, "application/rss+xml; charset=utf-8", self.data.rss)
        elif url.path == "/api/container/getIndex":
            page = max(1, int((query.get("page") or ["1"])[0] or 1))
            rows = self.data.mblogs[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
            cards = [{"card_type": 9, "mblog": {k: v for k, v in m.items() if not k.startswith("_")}} for m in rows]
            body = {"ok": 1, "data": {"cardlistInfo": {"page": page + 1 if rows else None}, "cards": cards}}
            self._json(body)
        elif url.path == "/statuses/extend":
            mblog = self.data.by_mid.get((query.get("id") or [""])[0])
            if mblog:
                self._json({"ok": 1, "data": {"longTextContent": mblog["_full"], "ok": 1}})
            else:
                self._json({"ok": 0, "msg": "微博不存在或暂无查看权限"})
        elif url.path.startswith("/detail/"):
            mblog = self.data.by_mid.get(url.path.rsplit("/", 1)[-1])
            if not mblog:
                self._send(404, "text/html; charset=utf-8", b"<h1>404</h1>")
            else:
                page = ("<html><head><meta charset='utf-8'><title>微博正文</title></head>"
                        f"<body>{mblog['_full']}</body></html>")
                self._send(200, "text/html; charset=utf-8", page.encode("utf-8"))
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found")

    def _json(self, obj: Any) -> None:
        self._send(200, "application/json; charset=utf-8", json.dumps(obj, ensure_ascii=False).encode("utf-8"))

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class ReplaySite:
    """The site in a background thread; use as a context manager."""

    def __init__(self, port: int = 0, data: ReplayData | None = None) -> None:
        handler = type("Handler", (ReplayHandler,), {"data": data or ReplayData()})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="replay-site", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ReplaySite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Serve the demo posts as RSS and the Weibo API on 127.0.0.1.")
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args(argv)
    with ReplaySite(args.port) as site:
        print(site.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
