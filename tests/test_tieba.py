"""Baidu Tieba: forum list and thread page shapes, Tieba's time forms, and the spider over
loopback HTTP (threads refetched only when their reply count changed)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawlers import tieba
from crawlers.dates import SHANGHAI, parse_cn_time
from tests.conftest import FIXTURES, run_yuqing, write_config

TIEBA = FIXTURES / "site" / "tieba"
CST = timezone(timedelta(hours=8))


def test_forum_threads_are_read_from_the_commented_pagelet() -> None:
    threads = tieba.forum_threads((TIEBA / "forum.html").read_text(encoding="utf-8"), "https://tieba.baidu.com/f")
    assert [(t.tid, t.replies, t.author, t.pinned) for t in threads] == [
        ("9012345670", 12, "吧务组", True), ("9012345671", 35, "用户A", False), ("9012345672", 8, "用户C", False)]
    assert threads[1].url == "https://tieba.baidu.com/p/9012345671"
    assert threads[1].title == "城东小区停水两天了，自来水公司电话一直打不通"
    assert [t.last_reply for t in threads] == ["2-11", "12:58", "5-3"]


def test_thread_floors_keep_authors_times_line_breaks_and_counts() -> None:
    title, replies, floors = tieba.thread_floors((TIEBA / "p_9012345671.html").read_text(encoding="utf-8"))
    assert (title, replies) == ("城东小区停水两天了，自来水公司电话一直打不通", 35)
    assert [(f.pid, f.number, f.author, f.time, f.comments) for f in floors] == [
        ("90123456711", 1, "用户A", "2024-05-03 12:30", 3), ("90123456712", 2, "用户B", "2024-05-03 12:41", 0),
        ("90123456713", 3, "用户D", "2024-05-03 12:58", 1)]
    assert floors[0].text == ("从前天晚上开始停水，到现在还没来，打了十几次电话都是占线。\n"
                              "家里老人孩子都等着用水，物业也说不清楚什么时候恢复，太气人了！")


def test_renamed_classes_parse_to_nothing() -> None:
    _, _, floors = tieba.thread_floors((TIEBA / "p_redesigned.html").read_text(encoding="utf-8"))
    assert floors == []


@pytest.mark.parametrize(("text", "expected", "precision"), [
    ("12:30", datetime(2024, 5, 3, 12, 30, tzinfo=CST), "minute"),  # today
    ("23:50", datetime(2024, 5, 2, 23, 50, tzinfo=CST), "minute"),  # later than now: yesterday
    ("5-3", datetime(2024, 5, 3, tzinfo=CST), "day"),
    ("12-31", datetime(2023, 12, 31, tzinfo=CST), "day"),
    ("2024-05-03 12:30", datetime(2024, 5, 3, 12, 30, tzinfo=CST), "minute"),
])
def test_tieba_time_forms(text: str, expected: datetime, precision: str) -> None:
    parsed = parse_cn_time(text, datetime(2024, 5, 3, 13, 0, tzinfo=SHANGHAI))
    assert (parsed.value, parsed.precision) == (expected, precision)


@pytest.mark.slow
def test_tieba_crawl_posts_with_replies_and_only_changed_threads_again(tmp_path: Path, fresh_site) -> None:
    site, requests = fresh_site
    config = write_config(tmp_path, schemes="schemes: []\n", sources=f"""\
        sources:
          - {{name: tieba-city, spider: tieba, urls: ["{site}/f?kw=某市&ie=utf-8"]}}
        """)
    db = tmp_path / "yuqing.db"
    first = run_yuqing(config, "crawl")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "tieba: 6 items, 6 new, 0 updated" in first.stdout
    with sqlite3.connect(db) as conn:
        got = conn.execute("SELECT platform, platform_id, title, author, published_at, engagement, url FROM posts "
                           "ORDER BY platform_id").fetchall()
    assert got[0] == ("tieba", "90123456701", "【吧规】某市吧发帖须知（2023年修订）", "吧务组", "2023-02-11T01:00:00Z",
                      '{"replies": 12}', f"{site}/p/9012345670")
    assert got[1][1:6] == ("90123456711", "城东小区停水两天了，自来水公司电话一直打不通", "用户A",
                           "2024-05-03T04:30:00Z", '{"replies": 35}')
    assert got[2][1:6] == ("90123456712", None, "用户B", "2024-05-03T04:41:00Z", '{"comments": 0}')
    assert got[2][6] == f"{site}/p/9012345671?pid=90123456712"

    second = run_yuqing(config, "crawl")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "tieba: 0 items" in second.stdout  # no reply count changed: no thread fetched again
    assert requests.count("GET /p/9012345671") == 1
    assert sum(r.startswith("GET /f?kw=") for r in requests) == 2  # the forum page is read every run
