"""Silent sources become operator alerts with the errors recorded meanwhile (B3)."""

from datetime import UTC, timedelta
from pathlib import Path

from alerts.notify import Notifier
from alerts.source_health import check_sources
from pipeline.config import load_settings
from pipeline.store.sqlite import SQLiteStore
from tests.conftest import write_config
from tests.test_checker import SCHEMES, day

SOURCES = """\
sources:
  - {name: tieba, spider: rss, urls: ["http://127.0.0.1:1/x"], silence: 6h}
  - {name: news, spider: rss, urls: ["http://127.0.0.1:1/y"], silence: 6h}
  - {name: paused, spider: rss, urls: ["http://127.0.0.1:1/z"], enabled: false}
"""


def test_silent_source_alerts_operators_once(tmp_path: Path, smtp_sink) -> None:
    settings = load_settings(write_config(tmp_path, sources=SOURCES, schemes=SCHEMES, smtp_port=smtp_sink.port,
                                          extra="operators: ['运维 <ops@example.invalid>']\n"))
    store = SQLiteStore(":memory:")
    crawled = day(0, 8).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name in ("tieba", "news"):
        store.upsert_posts([{"id": name, "platform": "rss", "source": name, "text": "x", "crawled_at": crawled,
                             "published_at": crawled}])
    store.record_health("tieba", "BLOCKED", "百度安全验证", at=day(0, 12))
    store.upsert_posts([{"id": "news2", "platform": "rss", "source": "news", "text": "y",
                         "crawled_at": day(0, 13).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}])
    now = day(0, 15)
    fired = check_sources(settings, store, Notifier(settings), now)
    assert [r.payload["source"] for r in fired] == ["tieba"]
    assert check_sources(settings, store, Notifier(settings), now + timedelta(minutes=30)) == []
    [msg] = smtp_sink.messages
    assert str(msg["Subject"]) == "【采集异常】来源「tieba」长时间无新信息"
    assert smtp_sink.envelopes[0][1] == ["ops@example.invalid"]
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert "BLOCKED × 1" in body and "百度安全验证" in body and "2025-06-01 08:00 (UTC+8)" in body
