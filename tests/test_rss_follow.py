"""RSS items that carry only a summary are completed from their article page by the news
extractor; a feed with full content is not followed; a missing article keeps the summary."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crawlers.extract import summary_only
from tests.conftest import run_yuqing, write_config


@pytest.mark.parametrize(("body", "short"), [
    (None, True), ("", True), ("5月2日晚，某市城东片区多个小区出现停水，市自来水公司回应称……", True),
    ("<p>" + "完整的正文段落。" * 40 + "</p>", False), ("<p>" + "长摘要。" * 60 + "阅读全文</p>", True),
])
def test_summary_only(body: str | None, short: bool) -> None:
    assert summary_only(body) is short


@pytest.mark.slow
def test_rss_follows_summary_items_to_the_article(tmp_path: Path, fresh_site) -> None:
    site, requests = fresh_site
    config = write_config(tmp_path, schemes="schemes: []\n", sources=f"""\
        sources:
          - {{name: city-rss, spider: rss, platform: news, urls: ["{site}/feeds/summary.xml"]}}
        """)
    crawl = run_yuqing(config, "crawl")
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    assert "rss: 4 items, 4 new" in crawl.stdout
    with sqlite3.connect(tmp_path / "yuqing.db") as conn:
        got = {u.rsplit("/", 1)[-1]: (t, p, m) for u, t, p, m in conn.execute(
            "SELECT url, text, published_at, modified_at FROM posts")}
    text, published, modified = got["content_1001.html"]
    assert text.startswith("5月2日晚8时许") and text.endswith("可拨打供水服务热线咨询。")
    assert (published, modified) == ("2024-05-03T00:30:00Z", "2024-05-03T03:02:00Z")
    text, published, _ = got["content_1002.html"]
    assert "朱镕路片区" in text and "版权所有" not in text  # GBK article, boilerplate out
    assert published == "2024-05-02T08:20:00Z"  # no pubDate in the feed: the article's 发布时间
    assert got["gone.html"][0] == "市交通运输局公示公交线网优化方案，征求市民意见。"  # 404: summary kept
    assert "source city-rss: article" in crawl.stderr and "keeping the feed's summary" in crawl.stderr
    assert got["library.html"][0].startswith("记者从市图书馆获悉")  # full content: not followed
    assert "GET /news/2024/04/29/library.html" not in requests
    with sqlite3.connect(tmp_path / "yuqing.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM source_health").fetchone()[0] == 0
