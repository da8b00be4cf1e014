"""News sites: article extraction and publish dates (field reports B1, B6), list pages, and
the news spider over loopback HTTP (articles fetched once, list pages every run, B24)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawlers.dates import SHANGHAI, date_from_url
from crawlers.encoding import decode_body
from crawlers.extract import extract_article, list_links, next_page
from pipeline.config import load_settings
from pipeline.errors import ConfigError
from tests.conftest import FIXTURES, run_yuqing, write_config

NEWS = FIXTURES / "site" / "news"
CST = timezone(timedelta(hours=8))
NOW = datetime(2024, 5, 4, 12, 0, tzinfo=SHANGHAI)


def page(name: str, content_type: str = "text/html") -> str:
    return decode_body((NEWS / name).read_bytes(), content_type)[0]


def test_b6_structured_published_beats_visible_modified_and_javascript_dates() -> None:
    html = ('<html><head><meta property="article:published_time" content="2024-05-01T10:00:00+08:00"></head>'
            "<body><h1>某区就垃圾转运站选址问题召开听证会</h1><span>更新时间：2024-05-03 09:00</span>"
            "<p>" + "区城市管理局表示将认真梳理意见建议。" * 10 + "</p>"
            '<script>var exp="2031-01-31";</script></body></html>')
    article = extract_article(html, "http://news.example.invalid/a.html", NOW)
    assert article.dates.published.value == datetime(2024, 5, 1, 10, 0, tzinfo=CST)
    assert article.dates.published_from == "meta article:published_time"
    assert article.dates.modified.value == datetime(2024, 5, 3, 9, 0, tzinfo=CST)
    assert article.dates.rejected == ()


def test_b6_list_date_only_keeps_day_precision_in_beijing_time() -> None:
    article = extract_article(page("content_1004.html"), "http://h/news/local/content_1004.html",
                              datetime(2024, 10, 1, 9, tzinfo=SHANGHAI), list_date="2024-09-29")
    published = article.dates.published
    assert (published.value, published.precision) == (datetime(2024, 9, 29, tzinfo=CST), "day")
    assert published.value.utcoffset() == timedelta(hours=8)  # local midnight, not 00:00 UTC
    assert article.dates.published_from == "list"


def test_b6_future_metadata_is_refused_with_a_reason_and_the_visible_line_used() -> None:
    article = extract_article(page("content_1005.html"), "http://h/news/local/content_1005.html", NOW)
    assert article.dates.published.value == datetime(2024, 5, 2, 10, 15, tzinfo=CST)
    assert article.dates.published_from == "visible"
    assert len(article.dates.rejected) == 1 and "2031-01-31" in article.dates.rejected[0]
    assert "future" in article.dates.rejected[0]


def test_b6_no_date_anywhere_is_none_never_the_crawl_time() -> None:
    html = "<html><body><h1>某市通报</h1><p>" + "没有任何日期的正文内容。" * 20 + "</p></body></html>"
    article = extract_article(html, "http://h/news/local/content_9.html", NOW)
    assert article.dates.published is None and article.dates.modified is None


def test_b6_json_ld_graph_is_read_and_broken_blocks_skipped() -> None:
    article = extract_article(page("content_0999.html"), "http://h/news/x/content_0999.html", NOW)
    assert article.dates.published.value == datetime(2024, 4, 30, 17, 45, tzinfo=CST)
    assert article.dates.published_from == "json-ld"


@pytest.mark.parametrize(("url", "expected"), [
    ("http://www.people.com.cn/n1/2024/0503/c1001-40228888.html", datetime(2024, 5, 3)),
    ("http://www.news.cn/politics/20240503/5f0a1b2c/c.html", datetime(2024, 5, 3)),
    ("https://h/news/2024/05/03/content_1001.html", datetime(2024, 5, 3)),
    ("https://h/2024-05-03/article.html", datetime(2024, 5, 3)),
    ("https://h/zwgk/202405/t20240503_123456.html", datetime(2024, 5, 3)),
    ("https://h/news/local/content_1004.html", None),
    ("https://h/news/2031/01/31/future.html", None),
    ("https://h/news/2024/13/45/bad.html", None),
])
def test_b6_date_in_the_url(url: str, expected: datetime | None) -> None:
    parsed = date_from_url(url, NOW)
    if expected is None:
        assert parsed is None
    else:
        assert parsed.value == expected.replace(tzinfo=SHANGHAI) and parsed.precision == "day"


def test_b1_gbk_article_under_a_gb2312_meta_decodes_and_extracts() -> None:
    text, encoding, bad = decode_body((NEWS / "content_1002.html").read_bytes(), "text/html")
    assert (encoding, bad) == ("gb18030", 0)
    article = extract_article(text, "http://h/news/20240502/content_1002.html", NOW)
    assert "朱镕路片区" in article.text  # 镕 is GBK-only: a gb2312 decoder would choke or garble it
    assert article.title == "市住建局通报老旧小区改造进展 居民反映施工扰民"
    assert article.dates.published.value == datetime(2024, 5, 2, 16, 20, tzinfo=CST)
    for boilerplate in ("网站首页", "版权所有", "打印本页", "ICP"):
        assert boilerplate not in article.text


def test_utf8_article_body_in_boilerplate_out() -> None:
    article = extract_article(page("content_1001.html", "text/html; charset=utf-8"),
                              "http://h/news/2024/05/03/content_1001.html", NOW)
    assert article.title == "某市自来水公司回应大面积停水：主干管道爆裂正在抢修"
    assert article.author == "记者甲"
    assert article.text.startswith("5月2日晚8时许，某市城东片区多个小区陆续出现停水")
    assert article.text.rstrip().endswith("可拨打供水服务热线咨询。")
    for boilerplate in ("客户端下载", "当前位置", "相关阅读", "燃气安全大检查", "版权所有", "关于我们"):
        assert boilerplate not in article.text
    assert article.dates.modified.value == datetime(2024, 5, 3, 11, 2, tzinfo=CST)


def test_per_site_selectors_override_the_generic_rules() -> None:
    selectors = {"title": "div.biaoti", "body": "xpath://div[@id='zoom']/p", "published": "div.fbsj",
                 "author": "xpath://title/text()"}
    article = extract_article(page("content_1002.html"), "http://h/x.html", NOW, selectors)
    assert article.title == "市住建局通报老旧小区改造进展 居民反映施工扰民"
    assert article.text.split("\n")[0].startswith("5月2日，市住建局召开新闻通报会")
    assert len(article.text.split("\n")) == 4
    assert article.dates.published_from == "selector"
    assert article.author.endswith("某市政府网")


def test_list_page_links_with_their_dates_and_the_next_page() -> None:
    html = page("list.html", "text/html; charset=utf-8")
    links = list_links(html, "http://h/news/list.html")
    assert links == [
        ("http://h/news/2024/05/03/content_1001.html", "2024-05-03"),
        ("http://h/news/20240502/content_1002.html", "2024-05-02"),
        ("http://h/news/b6/content_1003.html?utm_source=list", "2024-05-01"),
        ("http://h/news/local/content_1004.html", "2024-09-29"),
        ("http://h/news/local/content_1005.html", "2024-05-02"),
    ]  # navigation, footer, the other site and 下一页 are not articles
    assert next_page(html, "http://h/news/list.html") == "http://h/news/list_2.html"
    assert list_links(page("redesigned.html"), "http://h/news/list.html") == []
    picked = list_links(html, "http://h/news/list.html", {"links": "ul.news-list li:nth-child(2) a"})
    assert picked == [("http://h/news/20240502/content_1002.html", "2024-05-02")]


def test_selectors_are_checked_at_load(tmp_path: Path) -> None:
    sources = ("sources:\n  - {name: n, spider: news, urls: ['https://news.example.invalid/'], "
               "selectors: {body: 'div[[bad'}}\n")
    with pytest.raises(ConfigError, match=r"sources\.0\.selectors\.body: .*not a valid CSS selector"):
        load_settings(write_config(tmp_path, sources=sources, schemes="schemes: []\n"))
    sources = "sources:\n  - {name: n, spider: news, urls: ['https://x.invalid/'], selectors: {boddy: p}}\n"
    with pytest.raises(ConfigError, match="did you mean 'body'"):
        load_settings(write_config(tmp_path, sources=sources, schemes="schemes: []\n"))
    sources = "sources:\n  - {name: n, spider: news, urls: ['https://x.invalid/'], keywords: [x]}\n"
    with pytest.raises(ConfigError, match="keywords do not apply to a news source"):
        load_settings(write_config(tmp_path, sources=sources, schemes="schemes: []\n"))


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.slow
def test_news_crawl_fetches_articles_once_and_list_pages_every_run(tmp_path: Path, fresh_site) -> None:
    site, requests = fresh_site
    config = write_config(tmp_path, schemes="schemes: []\n", sources=f"""\
        sources:
          - {{name: city-news, spider: news, urls: ["{site}/news/list.html"], max_pages: 2}}
        """)
    db = tmp_path / "yuqing.db"
    first = run_yuqing(config, "crawl")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "news: 6 items, 6 new, 0 updated" in first.stdout
    got = {r[0]: r[1:] for r in rows(db, "SELECT url, title, published_at, published_precision, modified_at, "
                                         "author FROM posts WHERE source='city-news'")}
    assert got[f"{site}/news/2024/05/03/content_1001.html"] == (
        "某市自来水公司回应大面积停水：主干管道爆裂正在抢修", "2024-05-03T00:30:00Z", "second", "2024-05-03T03:02:00Z",
        "记者甲")
    assert got[f"{site}/news/b6/content_1003.html?utm_source=list"][1:4] == (
        "2024-05-01T02:00:00Z", "second", "2024-05-03T01:00:00Z")  # B6: published ≠ modified
    assert got[f"{site}/news/local/content_1004.html"][1:3] == ("2024-09-28T16:00:00Z", "day")  # list date
    assert got[f"{site}/news/local/content_1005.html"][1] == "2024-05-02T02:15:00Z"
    assert got[f"{site}/news/2024/04/30/content_0999.html"][1] == "2024-04-30T09:45:00Z"  # from page 2
    assert "source city-news: " in first.stderr and "2031-01-31T00:00:00+08:00' is in the future" in first.stderr
    gbk = rows(db, "SELECT text FROM posts WHERE url LIKE '%content_1002%'")[0][0]
    assert "朱镕路片区" in gbk and "\ufffd" not in gbk  # B1 on an article page
    ids = rows(db, "SELECT id FROM posts ORDER BY id")
    assert requests.count("GET /news/list.html") == 1

    second = run_yuqing(config, "crawl")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "news: 0 items, 0 new, 0 updated" in second.stdout  # every article is already stored
    assert requests.count("GET /news/list.html") == 2 and requests.count("GET /news/list_2.html") == 2
    assert requests.count("GET /news/2024/05/03/content_1001.html") == 1
    assert rows(db, "SELECT id FROM posts ORDER BY id") == ids  # B24
    assert not any((tmp_path / "jobs").iterdir())  # a finished crawl leaves no JOBDIR behind
