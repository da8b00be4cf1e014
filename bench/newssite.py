"""A generated news site in the recorded shapes, served on 127.0.0.1 (for the crawl bench and
the resume test).

``LISTS`` list pages (``/news/list_<n>.html``, each with ``PER_LIST`` article links, dates
beside them and a 下一页 link) and their article pages, built from the two recorded article
shapes in tests/fixtures/site/news: a UTF-8 CMS page with Open Graph and JSON-LD, and a
GBK government page with a visible 发布时间 line. Every article has its own title, body and
date, so every post is distinct. ``python bench/newssite.py [LISTS PER_LIST DELAY]``
prints the URL and then one ``GET <path>`` line per request.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOPICS = ("停水", "燃气", "公交", "垃圾分类", "老旧小区改造", "学区划分", "医保报销", "物业收费", "道路施工",
          "噪声扰民")
PLACES = ("城东", "城西", "城南", "城北", "高新区", "开发区", "老城区", "滨江")
STANCES = ("居民反映问题迟迟得不到解决，情绪不满。", "相关部门表示已完成整改，群众表示满意。",
           "有关负责人介绍了下一步工作安排。", "不少网友质疑处置不及时，要求公开调查结果。")
START = datetime(2024, 5, 3, 9, 0)


def article_meta(n: int) -> tuple[str, str, datetime]:
    topic, place = TOPICS[n % len(TOPICS)], PLACES[(n // len(TOPICS)) % len(PLACES)]
    title = f"{place}{topic}问题调查（第{n}期）：多方回应市民关切"
    body = "".join(f"<p>{place}片区{topic}相关情况第{n}号报道第{k + 1}段。记者走访了解到，"
                   f"{STANCES[(n + k) % len(STANCES)]}截至发稿时，有关部门已受理相关诉求{n * 3 + k}件。</p>"
                   for k in range(4))
    return title, body, START - timedelta(hours=n)


def article_page(n: int) -> tuple[bytes, str]:
    title, body, when = article_meta(n)
    if n % 2:  # the GBK government shape: charset only in <meta>, date only in the visible line
        html = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312" />'
                f"<title>{title}--某市政府网</title></head><body>"
                '<table class="top"><tr><td><a href="/">网站首页</a> | <a href="/zwgk/">政务公开</a></td></tr></table>'
                f'<div class="biaoti">{title}</div><div class="fbsj">发布时间：{when:%Y年%m月%d日 %H:%M}'
                f'&nbsp;&nbsp;信息来源：市政府办公室</div><div class="zw" id="zoom">{body}</div>'
                '<table class="bottom"><tr><td>主办单位：某市人民政府办公室 版权所有</td></tr></table></body></html>')
        return html.encode("gb18030"), "text/html"
    html = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}_某市新闻网</title>'
            f'<meta property="og:title" content="{title}">'
            f'<meta property="article:published_time" content="{when:%Y-%m-%dT%H:%M:%S}+08:00">'
            '<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",'
            f'"headline":"{title}","datePublished":"{when:%Y-%m-%dT%H:%M:%S}+08:00"}}</script></head><body>'
            '<div class="nav"><a href="/">首页</a><a href="/news/">本地</a><a href="/login.html">登录</a></div>'
            f'<div class="article"><h1>{title}</h1><div class="info">{when:%Y-%m-%d %H:%M} 来源：某市日报</div>'
            f'<div class="content">{body}</div></div>'
            '<div class="footer">某市新闻网 版权所有 未经授权禁止转载</div></body></html>')
    return html.encode("utf-8"), "text/html; charset=utf-8"


def list_page(page: int, lists: int, per_list: int) -> bytes:
    first = (page - 1) * per_list
    items = "".join(f'<li><a href="/news/a/{n}.html">{article_meta(n)[0]}</a>'
                    f'<span class="date">{article_meta(n)[2]:%Y-%m-%d}</span></li>'
                    for n in range(first, first + per_list))
    nxt = f'<div class="page"><a href="/news/list_{page + 1}.html">下一页</a></div>' if page < lists else ""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>本地新闻_第{page}页</title></head><body>'
            '<div class="nav"><a href="/">首页</a><a href="/about.html">关于我们</a></div>'
            f'<ul class="news-list">{items}</ul>{nxt}<div class="footer">版权所有</div></body></html>').encode()


class NewsSite:
    """The generated site on a loopback port; ``requests`` counts what it answered."""

    def __init__(self, lists: int = 50, per_list: int = 19, delay: float = 0.0, echo: bool = False) -> None:
        self.lists, self.per_list, self.delay, self.echo = lists, per_list, delay, echo
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.requests.append(self.path)
                if site.echo:
                    print(f"GET {self.path}", flush=True)
                if site.delay:
                    time.sleep(site.delay)
                body, ctype, status = site.route(self.path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def pages(self) -> int:
        return self.lists * (self.per_list + 1)

    def route(self, path: str) -> tuple[bytes, str, int]:
        if path.startswith("/news/list_"):
            page = int(path.removeprefix("/news/list_").removesuffix(".html"))
            if 1 <= page <= self.lists:
                return list_page(page, self.lists, self.per_list), "text/html; charset=utf-8", 200
        elif path.startswith("/news/a/"):
            n = int(path.removeprefix("/news/a/").removesuffix(".html"))
            if 0 <= n < self.lists * self.per_list:
                body, ctype = article_page(n)
                return body, ctype, 200
        elif path == "/robots.txt":
            return b"User-agent: *\nDisallow: /private/\n", "text/plain", 200
        return b"not found", "text/plain", 404

    def start(self) -> NewsSite:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    args = [float(a) for a in sys.argv[1:4]]
    lists, per_list, delay = int(args[0]) if args else 50, int(args[1]) if len(args) > 1 else 19, \
        args[2] if len(args) > 2 else 0.0
    site = NewsSite(lists, per_list, delay, echo=True)
    print(site.url, flush=True)
    site.server.serve_forever()


if __name__ == "__main__":
    main()
