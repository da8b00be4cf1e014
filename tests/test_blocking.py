"""Field report B3: captcha, login and rate-limit pages (also served with HTTP 200), a list
page that stops yielding items, a large page that parses to nothing, and a genuine empty
result, each told apart and recorded as a source-health event."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crawlers.blocking import page_problem, says_no_results
from tests.conftest import FIXTURES, run_yuqing, write_config

CAPTCHA = "<html><head><title>百度安全验证</title></head><body></body></html>"


@pytest.mark.parametrize(("url", "text", "redirects", "kind"), [
    ("http://h/f?kw=x", CAPTCHA, (), "BLOCKED"),
    ("http://h/p/1", (FIXTURES / "site/news/captcha.html").read_text(encoding="utf-8"), (), "BLOCKED"),
    ("http://h/x", "<html><title>Sina Visitor System</title></html>", (), "LOGIN_REQUIRED"),  # as in B2
    ("https://wappass.baidu.com/static/captcha/tuxing.html?ak=1", "<html></html>", ("http://h/f?kw=x",), "BLOCKED"),
    ("http://h/verify/captcha.html", "<html><title>提示</title></html>", ("http://h/f",), "BLOCKED"),
    ("http://h/a", '<html><title>用户登录</title><input type="password"></html>', (), "LOGIN_REQUIRED"),
    ("http://h/a", "<html><title>提示</title><div>您的访问过于频繁，请稍后再试。</div></html>", (), "RATE_LIMITED"),
    ("http://h/a", '{"ok":0,"msg":"请求过于频繁"}', (), "RATE_LIMITED"),
])
def test_b3_blocked_pages_are_typed(url: str, text: str, redirects: tuple[str, ...], kind: str) -> None:
    problem = page_problem(url, text, redirects)
    assert problem is not None and problem[0] == kind


@pytest.mark.parametrize("name", ["news/content_1001.html", "tieba/forum.html", "tieba/p_9012345671.html"])
def test_real_pages_are_not_blocked(name: str) -> None:
    text = (FIXTURES / "site" / name).read_text(encoding="utf-8")
    assert page_problem("http://h/news/1.html", text) is None  # "登录" links and 停水 stories are not walls
    article = "<html><title>市民反映某路段交通事故频繁发生_某市新闻网</title><body>" + "事故频繁。" * 5000 + "</body>"
    assert page_problem("http://h/a.html", article) is None
    short = "<html><title>五一假期景区游客访问频繁</title><body><p>景区客流持续走高。</p></body></html>"
    assert page_problem("http://h/b.html", short) is None


def test_genuine_no_results_page_is_empty_not_an_error() -> None:
    assert says_no_results((FIXTURES / "site/tieba/forum_empty.html").read_text(encoding="utf-8"))
    assert not says_no_results((FIXTURES / "site/tieba/forum.html").read_text(encoding="utf-8"))


def health(db: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with sqlite3.connect(db) as conn:
        for source, kind in conn.execute("SELECT source, kind FROM source_health ORDER BY id"):
            out.setdefault(source, []).append(kind)
    return out


@pytest.mark.slow
def test_b3_every_way_a_site_fails_is_a_typed_health_event(tmp_path: Path, fresh_site) -> None:
    site, requests = fresh_site
    config = write_config(tmp_path, schemes="schemes: []\n", sources=f"""\
        sources:
          - {{name: captcha-200, spider: news, urls: ["{site}/blocked/captcha.html"]}}
          - {{name: captcha-403, spider: tieba, urls: ["{site}/blocked/captcha403.html"]}}
          - {{name: captcha-redirect, spider: tieba, urls: ["{site}/blocked/f?kw=x"]}}
          - {{name: too-fast, spider: news, urls: ["{site}/blocked/ratelimit.html"]}}
          - {{name: http-429, spider: news, urls: ["{site}/blocked/429.html"]}}
          - {{name: tieba-redesign, spider: tieba, urls: ["{site}/broken/f?kw=x"]}}
          - {{name: tieba-none, spider: tieba, urls: ["{site}/f?kw=不存在的吧"]}}
          - {{name: news-changing, spider: news, urls: ["{site}/news/changing.html"], max_pages: 1}}
        """)
    text = config.read_text(encoding="utf-8").replace("batch_size: 8}", "batch_size: 8, retry_times: 1}")
    config.write_text(text, encoding="utf-8")
    db = tmp_path / "yuqing.db"

    first = run_yuqing(config, "crawl")
    log = first.stderr
    assert "source captcha-200: BLOCKED: verification page (title '百度安全验证')" in log
    assert "source captcha-403: BLOCKED: HTTP 403" in log
    assert "source captcha-redirect: BLOCKED: redirected to" in log
    assert "source too-fast: RATE_LIMITED" in log and "source http-429: RATE_LIMITED: HTTP 429" in log
    assert "slowing the site down" in log  # backed off and retried before giving up
    assert requests.count("GET /blocked/ratelimit.html") == 2 and requests.count("GET /blocked/429.html") == 2
    assert "source tieba-redesign: PARSER_BROKEN" in log
    none_lines = [line for line in log.splitlines() if "source tieba-none" in line]  # B3 fixture 3
    assert none_lines and all(" INFO " in line and "says it found nothing" in line for line in none_lines)
    assert health(db) == {
        "captcha-200": ["BLOCKED"], "captcha-403": ["BLOCKED"], "captcha-redirect": ["BLOCKED"],
        "too-fast": ["RATE_LIMITED"], "http-429": ["RATE_LIMITED"],
        "tieba-redesign": ["PARSER_BROKEN"],  # three broken thread pages: logged thrice, recorded once
    }
    assert log.count("source tieba-redesign: PARSER_BROKEN") == 3
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM posts WHERE source='news-changing'").fetchone()[0] == 5

    # The list page is redesigned: it yields nothing where it yielded 5 articles last time.
    second = run_yuqing(config, "crawl", "news-changing")
    assert "source news-changing: SCHEMA_CHANGED" in second.stderr
    assert "it yielded 5 last time" in second.stderr
    assert health(db)["news-changing"] == ["SCHEMA_CHANGED"]
