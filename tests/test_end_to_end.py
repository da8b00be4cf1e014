"""Crawl → analyse → store → alert, over loopback HTTP and SMTP, with the real spiders."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_yuqing, write_config

pytestmark = pytest.mark.slow

SCHEMES = """\
schemes:
  - id: water-supply
    name: 供水服务
    any: [停水, 自来水, 供水, 水质]
    recipients: ["水务负责人 <water@example.invalid>"]
    alert: {window: 1d, baseline_windows: 5, min_history: 3, min_count: 5, cooldown: 1d}
"""


def sources(site: str) -> str:
    return f"""\
sources:
  - {{name: city-news, spider: rss, platform: news, urls: ["{site}/feeds/water.xml"]}}
  - {{name: gov-gbk, spider: rss, urls: ["{site}/feeds/gbk.xml"]}}
  - {{name: broken-feed, spider: rss, urls: ["{site}/feeds/broken.xml"]}}
  - {{name: empty-feed, spider: rss, urls: ["{site}/feeds/empty.xml"]}}
  - {{name: gone-feed, spider: rss, urls: ["{site}/feeds/gone.xml"]}}
  - {{name: weibo-search, spider: weibo, urls: ["{site}/m"], keywords: [停水]}}
  - {{name: weibo-error, spider: weibo, urls: ["{site}/err"], keywords: [停水]}}
  - {{name: weibo-login, spider: weibo, urls: ["{site}/login"], keywords: [停水]}}
  - {{name: weibo-empty, spider: weibo, urls: ["{site}/empty"], keywords: [停水]}}
"""


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_crawl_analyse_store_alert_once(tmp_path: Path, site: str, smtp_sink) -> None:
    config = write_config(tmp_path, sources=sources(site), schemes=SCHEMES, smtp_port=smtp_sink.port)
    db = tmp_path / "yuqing.db"

    crawl = run_yuqing(config, "crawl")
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    log = crawl.stderr
    # Every bad source is named with a typed error; the crawl went on.
    assert "source broken-feed: MALFORMED" in log
    assert "source empty-feed: EMPTY_BODY" in log
    assert "source gone-feed: NOT_FOUND" in log
    assert "source weibo-error: API_ERROR" in log
    assert "source weibo-login: LOGIN_REQUIRED" in log
    assert "source weibo-empty: EMPTY_BODY" in log

    by_source = dict(rows(db, "SELECT source, COUNT(*) FROM posts GROUP BY source"))
    assert by_source == {"city-news": 10, "gov-gbk": 1, "weibo-search": 6}
    assert rows(db, "SELECT text FROM posts WHERE source='gov-gbk'") == [("某公司镕铸车间通报\U00020BB7",)]  # B1
    health = {r[0]: r[1] for r in rows(db, "SELECT source, kind FROM source_health")}
    assert health == {"broken-feed": "MALFORMED", "empty-feed": "EMPTY_BODY", "gone-feed": "NOT_FOUND",
                      "weibo-error": "API_ERROR", "weibo-login": "LOGIN_REQUIRED", "weibo-empty": "EMPTY_BODY"}

    # Every post was analysed: tokens, a sentiment label from the model, scheme membership.
    unlabelled = rows(db, "SELECT COUNT(*) FROM posts WHERE sentiment_label IS NULL OR tokens IS NULL")
    assert unlabelled == [(0,)]
    long_post = rows(db, "SELECT text, text_truncated FROM posts WHERE platform_id='4990000000000003'")
    full = "某市供水公司回应称正在抢修。但网友仍质疑赔偿不到位，停水已超过十二小时，情绪激烈，纷纷表示非常不满。"
    assert long_post == [(full, 0)]  # B4: the long text replaced the truncated one
    times = rows(db, "SELECT published_at FROM posts WHERE platform_id='4990000000000001'")
    assert times == [("2025-06-06T00:45:00Z",)]  # Fri Jun 06 08:45:00 +0800 2025
    in_scheme = rows(db, "SELECT COUNT(*) FROM post_schemes WHERE scheme_id='water-supply'")[0][0]
    assert in_scheme == 15  # all but the 刚刚 post, which mentions 水厂 only
    spike_negative = rows(db, "SELECT COUNT(*) FROM posts WHERE sentiment_label='negative' "
                              "AND published_at >= '2025-06-06' AND published_at < '2025-06-06T16:00:00Z'")[0][0]
    assert spike_negative >= 8, "the model should read the outage complaints as negative"

    check = run_yuqing(config, "alerts", "check", "--now", "2025-06-06T23:00:00+08:00")
    assert check.returncode == 0, check.stderr[-3000:]
    assert len(smtp_sink.messages) == 1
    msg = smtp_sink.messages[0]
    subject = str(msg["Subject"])
    assert "供水服务" in subject and "负面信息激增" in subject
    count = rows(db, "SELECT count, baseline FROM alerts")[0]
    assert f"{count[0]} 个事件" in subject  # spikes count stories (copies once)
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert "供水服务" in body and f"负面信息：{count[0]} 个事件（共 " in body
    assert "2025-06-06 00:00 (UTC+8)" in body
    assert "平台分布：" in body and "微博" in body.split("平台分布：")[1].split("\n")[0]  # not "weibo"
    assert msg["From"].addresses[0].display_name == "舆情监测"
    assert sorted(smtp_sink.envelopes[0][1]) == ["duty@example.invalid", "water@example.invalid"]
    assert msg.get_body(preferencelist=("html",)) is not None
    assert any(part.get_content_type() == "image/png" for part in msg.walk())
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1

    again = run_yuqing(config, "alerts", "check", "--now", "2025-06-06T23:30:00+08:00")
    assert again.returncode == 0
    assert len(smtp_sink.messages) == 1, "a second check must not send the same alert again"
    assert rows(db, "SELECT status FROM alerts") == [("sent",)]

    # Field report B24: re-crawling the same pages updates, never doubles.
    ids_before = rows(db, "SELECT id FROM posts ORDER BY id")
    recrawl = run_yuqing(config, "crawl", "city-news", "weibo-search")
    assert recrawl.returncode == 0, recrawl.stderr[-3000:]
    assert rows(db, "SELECT id FROM posts ORDER BY id") == ids_before
    assert "rss: 10 items, 0 new, 10 updated" in recrawl.stdout
    # Weibo is incremental: the second search stops at posts it has already seen.
    weibo_items = int(recrawl.stdout.split("weibo: ")[1].split(" items")[0])
    assert weibo_items < 6
    assert rows(db, "SELECT key FROM state") == [("weibo:weibo-search:停水:newest",)]


def test_crawl_into_elasticsearch_twice_gives_the_same_count(tmp_path: Path, site: str, osmem_url: str) -> None:
    es = f"elasticsearch: {{compat: opensearch, dead_letter: {tmp_path / 'dead.jsonl'}}}\n"
    config = write_config(tmp_path, sources=sources(site), schemes=SCHEMES, extra=es)
    env = {"YUQING_STORE": osmem_url}
    setup = run_yuqing(config, "es", "setup", env=env)
    assert setup.returncode == 0, setup.stderr[-2000:]
    assert "installed index template yuqing-posts" in setup.stdout
    for _ in range(2):
        crawl = run_yuqing(config, "crawl", "city-news", "weibo-search", env=env)
        assert crawl.returncode == 0, crawl.stderr[-3000:]
        stats = run_yuqing(config, "stats", env=env)
        assert '"posts": 16' in stats.stdout, stats.stdout
        assert json.loads(stats.stdout)["published"]["to"].endswith("+08:00")  # Beijing time, not UTC
    assert "0 new" in crawl.stdout and "rss: 10 items, 0 new, 10 updated" in crawl.stdout
    assert not (tmp_path / "dead.jsonl").exists()
