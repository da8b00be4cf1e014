"""Weibo user timelines over loopback HTTP: a pinned old post does not stop paging (B7),
a repost keeps the original's id, and a long text the API would not give is stored
truncated (flagged) and fetched on the next run (B4)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from crawlers import weibo
from crawlers.dates import SHANGHAI
from tests.conftest import FIXTURES, run_yuqing, write_config


def test_repost_keeps_the_original_id() -> None:
    cards = json.loads((FIXTURES / "site/weibo_user.json").read_text(encoding="utf-8"))["data"]
    repost = next(m for m in weibo.cards_mblogs(cards, "u", "s") if m.get("retweeted_status"))
    item = weibo.mblog_item(repost, source="s", now=datetime(2025, 6, 7, tzinfo=SHANGHAI), detail_url="u")
    assert item.repost_of == "4990000000000100"
    assert item.text == "转发微博//转发原文：城西片区今日停水，预计晚8点恢复，请居民提前储水。"


def test_verified_government_and_media_accounts_get_their_tier() -> None:
    now = datetime(2025, 6, 7, tzinfo=SHANGHAI)

    def tier(user: dict) -> str | None:
        return weibo.mblog_item({"mid": "1", "text": "停水通知", "user": user}, source="s", now=now,
                                detail_url="u").tier

    assert tier({"verified": True, "verified_type": 1}) == "official"  # 政务
    assert tier({"verified": True, "verified_type": 3}) == "mainstream"  # 媒体
    assert tier({"verified": True, "verified_type": 2}) is None  # an enterprise: the platform default
    assert tier({"verified": False, "verified_type": 1}) is None  # verification lapsed
    assert tier({}) is None


def test_weibo_source_needs_keywords_or_uids(tmp_path: Path) -> None:
    from pipeline.config import load_settings
    from pipeline.errors import ConfigError

    bad = "sources:\n  - {name: w, spider: weibo, urls: ['https://m.weibo.cn'], uids: ['u123']}\n"
    with pytest.raises(ConfigError, match="not a numeric Weibo user id"):
        load_settings(write_config(tmp_path, sources=bad, schemes="schemes: []\n"))


@pytest.mark.slow
def test_b4_user_timeline_long_text_retried_on_the_next_run(tmp_path: Path, fresh_site) -> None:
    site, requests = fresh_site
    config = write_config(tmp_path, schemes="schemes: []\n", sources=f"""\
        sources:
          - {{name: water-co, spider: weibo, urls: ["{site}/wu"], uids: ["1234567890"], max_pages: 1}}
        """)
    db = tmp_path / "yuqing.db"

    def post(mid: str) -> tuple:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT text, text_truncated, repost_of FROM posts WHERE platform_id=?",
                                (mid,)).fetchone()

    first = run_yuqing(config, "crawl")
    assert "weibo: 4 items, 4 new" in first.stdout, first.stderr[-3000:]
    assert "source water-co: LOGIN_REQUIRED" in first.stderr  # the long-text endpoint sent a login page
    text, truncated, _ = post("4990000000000012")
    assert truncated == 1 and text.startswith("关于城西片区停水情况的说明") and "全文" not in text
    assert post("4990000000000011")[2] == "4990000000000100"
    assert post("4890000000000001") is not None  # the pinned 2023 post is kept, paging was not stopped
    with sqlite3.connect(db) as conn:  # the account is a government one (verified_type 1)
        assert {r[0] for r in conn.execute("SELECT source_tier FROM posts")} == {"official"}
    with sqlite3.connect(db) as conn:
        pending = json.loads(conn.execute("SELECT value FROM state WHERE key='weibo:water-co:long_text_retry'")
                             .fetchone()[0])
    assert list(pending) == ["4990000000000012"] and pending["4990000000000012"]["attempts"] == 1

    second = run_yuqing(config, "crawl")
    assert second.returncode == 0, second.stderr[-3000:]
    text, truncated, _ = post("4990000000000012")
    assert truncated == 0 and text.endswith("给市民带来不便，深表歉意。")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM state WHERE key='weibo:water-co:long_text_retry'").fetchone() == ("{}",)
        assert conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 4
    assert requests.count("GET /wu/statuses/extend?id=4990000000000012") == 2
    assert any("containerid=1076031234567890" in r for r in requests)
