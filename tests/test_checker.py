"""The alert checker against a real store and a real SMTP server on loopback."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.checker import AlertChecker
from alerts.notify import Notifier
from pipeline.config import load_settings
from pipeline.store.sqlite import SQLiteStore
from tests.conftest import _free_port, write_config

SCHEMES = """\
schemes:
  - id: water
    name: 供水服务
    any: [停水]
    alert: {window: 1d, baseline_windows: 5, min_history: 3, min_count: 5, cooldown: 2d}
"""


def day(n: int, hour: int = 12):
    from zoneinfo import ZoneInfo
    return datetime(2025, 6, 1, hour, tzinfo=ZoneInfo("Asia/Shanghai")) + timedelta(days=n)


def add_posts(store: SQLiteStore, when: datetime, negative: int, other: int = 2) -> None:
    posts = []
    for i in range(negative + other):
        label = "negative" if i < negative else "neutral"
        pid = f"{when:%Y%m%d%H}-{i}"
        posts.append({"id": pid, "platform": "weibo", "source": "w", "text": f"停水 {pid}",
                      "published_at": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "tokens": "停水", "keywords": ["停水", "投诉"] if label == "negative" else ["停水"],
                      "sentiment": {"label": label, "score": 0.9}, "schemes": ["water"]})
    store.upsert_posts(posts)


@pytest.fixture
def setup(tmp_path: Path, smtp_sink):
    def make(smtp_port: int):
        settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES,
                                              smtp_port=smtp_port))
        return settings
    store = SQLiteStore(tmp_path / "y.db")
    for n in range(5):
        add_posts(store, day(n), negative=1)
    add_posts(store, day(5), negative=9)
    yield make, store
    store.close()


def test_spike_is_sent_once_across_checks_and_restarts(setup, smtp_sink, tmp_path: Path) -> None:
    make, store = setup
    settings = make(smtp_sink.port)
    first = AlertChecker(settings, store, Notifier(settings)).check(day(5, 23))
    assert [r.outcome for r in first] == ["fired"]
    assert first[0].alert.count == 9 and first[0].alert.baseline == 1
    assert len(smtp_sink.messages) == 1
    assert dict(first[0].alert.payload["top_terms"])["投诉"] == 9  # what the spike is about
    # Same checker again, and a "restarted" one: nothing new is sent.
    assert AlertChecker(settings, store, Notifier(settings)).check(day(5, 23))[0].outcome == "already_alerted"
    again = SQLiteStore(tmp_path / "y.db")
    assert AlertChecker(settings, again, Notifier(settings)).check(day(5, 23))[0].outcome == "already_alerted"
    again.close()
    assert len(smtp_sink.messages) == 1


def test_cooldown_reminder_and_escalation(setup, smtp_sink) -> None:
    make, store = setup
    settings = make(smtp_sink.port)
    checker = AlertChecker(settings, store, Notifier(settings))
    assert checker.check(day(5, 23))[0].alert.payload["level"] == "一般"
    add_posts(store, day(6, 9), negative=7)  # still above the threshold the next day, same level
    assert checker.check(day(6, 23))[0].outcome == "reminded"
    assert checker.check(day(6, 23, ))[0].outcome == "cooldown"  # one reminder per interval, not per run
    add_posts(store, day(6, 10), negative=5)  # 12 ≥ 2 × threshold: 较大
    escalated = checker.check(day(6, 23))[0]
    assert escalated.outcome == "fired" and escalated.alert.payload["level"] == "较大"
    subjects = [str(m["Subject"]) for m in smtp_sink.messages]
    assert subjects[0].startswith("【舆情预警·一般】供水服务：负面信息激增（9 个事件")
    assert subjects[1].startswith("【舆情提醒·一般】供水服务：负面信息持续偏高（7 个事件")
    assert subjects[2].startswith("【舆情预警·较大】供水服务：负面信息激增（升级）（12 个事件")
    assert len(subjects) == 3


def test_b18_plateau_gives_one_reminder_per_interval(tmp_path: Path) -> None:
    schemes = SCHEMES.replace("window: 1d, baseline_windows: 5, min_history: 3, min_count: 5, cooldown: 2d",
                              "window: 1h, baseline_windows: 3, min_history: 3, min_count: 20, min_ratio: 3, "
                              "cooldown: 12h, reminder_interval: 3h")
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=schemes))
    store = SQLiteStore(":memory:")
    checker = AlertChecker(settings, store, Notifier(settings, tmp_path / "out"))
    outcomes = []
    for hour, negatives in enumerate([2, 3, 2, 40, 40, 42, 41, 40, 43, 41, 40]):
        add_posts(store, day(0, hour), negative=negatives, other=1)
        outcomes.append(checker.check(day(0, hour) + timedelta(minutes=59))[0].outcome)
    assert outcomes[:4] == ["warmup", "warmup", "warmup", "fired"]
    assert outcomes[4:] == ["cooldown", "cooldown", "reminded", "cooldown", "cooldown", "reminded", "cooldown"]


def test_severity_routes_to_level_recipients(tmp_path: Path, smtp_sink) -> None:
    schemes = SCHEMES.replace("    any: [停水]\n", "    any: [停水]\n    recipients: [a@example.invalid]\n"
                              "    level_recipients: {较大: [b@example.invalid], 重大: [c@example.invalid]}\n")
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=schemes,
                                          smtp_port=smtp_sink.port))
    store = SQLiteStore(":memory:")
    for n in range(5):
        add_posts(store, day(n), negative=1)
    add_posts(store, day(5), negative=25)  # ≥ 4 × threshold 5
    [result] = AlertChecker(settings, store, Notifier(settings)).check(day(5, 23))
    assert result.alert.payload["level"] == "重大"
    assert sorted(smtp_sink.envelopes[0][1]) == ["a@example.invalid", "c@example.invalid", "duty@example.invalid"]


def test_smtp_down_keeps_the_alert_and_retries(setup, smtp_sink, tmp_path: Path) -> None:
    make, store = setup
    down = make(_free_port())  # nothing listens there
    AlertChecker(down, store, Notifier(down)).check(day(5, 23))
    [alert] = store.alerts()
    assert alert.status == "failed" and "SMTP" in store_detail(tmp_path)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1  # written even though SMTP failed
    assert store.alerts()[0].detail.startswith("attempt 1: SMTP")
    up = make(smtp_sink.port)
    results = AlertChecker(up, store, Notifier(up)).check(day(5, 23))
    assert results[0].outcome == "already_alerted"
    assert [a.status for a in store.alerts()] == ["failed"]  # the first retry waits a minute
    later = datetime.now(UTC) + timedelta(minutes=1, seconds=5)
    Notifier(down).retry_undelivered(store, now=later)
    assert store.alerts()[0].detail.startswith("attempt 2: SMTP")
    failed_at = store.alerts()[0].updated_at
    assert Notifier(up).retry_undelivered(store, now=failed_at + timedelta(seconds=110)) == 0  # next pause: 2 min
    assert Notifier(up).retry_undelivered(store, now=failed_at + timedelta(seconds=125)) == 1
    assert [a.status for a in store.alerts()] == ["sent"]
    assert len(smtp_sink.messages) == 1
    AlertChecker(up, store, Notifier(up)).check(day(5, 23))
    assert len(smtp_sink.messages) == 1


def store_detail(tmp_path: Path) -> str:
    import sqlite3
    with sqlite3.connect(tmp_path / "y.db") as conn:
        return conn.execute("SELECT detail FROM alerts").fetchone()[0]


def test_gap_in_collection_is_not_calm(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES))
    store = SQLiteStore(":memory:")
    for n in range(5):
        add_posts(store, day(n), negative=6)
    add_posts(store, day(20), negative=7)  # after 15 days with no data at all
    result = AlertChecker(settings, store, Notifier(settings, tmp_path / "out")).check(day(20, 23))[0]
    assert result.outcome == "calm"
    assert result.decision.baseline == 6


def test_cold_start_and_empty_store(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES))
    store = SQLiteStore(":memory:")
    checker = AlertChecker(settings, store, Notifier(settings, tmp_path / "out"))
    assert checker.check(day(0, 23))[0].outcome == "warmup"
    add_posts(store, day(0), negative=50)
    assert checker.check(day(0, 23))[0].outcome == "warmup"


def test_backtest_replays_without_recording_or_sending(setup, smtp_sink, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from alerts.backtest import backtest

    make, store = setup
    settings = make(smtp_sink.port)
    add_posts(store, day(6), negative=8)  # above the threshold again, inside the cooldown
    with caplog.at_level(logging.INFO, logger="alerts.checker"):
        report = backtest(settings, store, settings.schemes[0], day(0, 0), day(7, 0))
    spikes = [r for r in caplog.records if "negative spike" in r.getMessage()]
    assert spikes and all(r.levelno == logging.INFO and "would fire" in r.getMessage() for r in spikes)
    outcomes = [(start.day, r.outcome) for start, r in report.results if r.outcome not in ("calm", "warmup")]
    assert outcomes == [(6, "fired"), (7, "reminded")]
    assert store.alerts() == [] and smtp_sink.messages == []  # nothing recorded, nothing sent


def test_b19_two_checkers_on_one_store_send_one_message(setup, smtp_sink, tmp_path: Path) -> None:
    import threading

    make, _store = setup
    settings = make(smtp_sink.port)
    stores = [SQLiteStore(tmp_path / "y.db"), SQLiteStore(tmp_path / "y.db")]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def run(s: SQLiteStore) -> None:
        barrier.wait()
        outcomes.append(AlertChecker(settings, s, Notifier(settings)).check(day(5, 23))[0].outcome)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_alerted", "fired"]
    assert len(smtp_sink.messages) == 1
    for s in stores:
        s.close()


def test_b18_seasonal_baseline_knows_the_morning_peak(tmp_path: Path) -> None:
    hourly = ("window: 1h, baseline_windows: 7, min_history: 3, min_count: 10, min_ratio: 3, cooldown: 2h")
    results = {}
    for seasonal in (False, True):
        rule = hourly + (", seasonal: true" if seasonal else "")
        schemes = SCHEMES.replace("window: 1d, baseline_windows: 5, min_history: 3, min_count: 5, cooldown: 2d", rule)
        settings = load_settings(write_config(tmp_path / str(seasonal), sources="sources: []\n", schemes=schemes))
        store = SQLiteStore(":memory:")
        for d in range(7):  # a week of quiet nights and a busy 09:00 every morning
            for hour in (6, 7, 8):
                add_posts(store, day(d, hour), negative=1, other=1)
            add_posts(store, day(d, 9), negative=12, other=1)
        for hour in (6, 7, 8):
            add_posts(store, day(7, hour), negative=1, other=1)
        add_posts(store, day(7, 9), negative=12, other=1)
        checker = AlertChecker(settings, store, Notifier(settings, tmp_path / "out"))
        results[seasonal] = checker.check(day(7, 9) + timedelta(minutes=59))[0]
    assert results[False].outcome == "fired"  # 12 against the night's 1s
    assert results[True].outcome == "calm" and results[True].decision.baseline == 12


def test_instant_alert_for_a_sensitive_negative_post_with_reach(tmp_path: Path, smtp_sink) -> None:
    schemes = SCHEMES.replace("    any: [停水]\n", "    any: [停水]\n    sensitive: [中毒, 死亡]\n"
                              "    sensitive_min_reach: 100\n")
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=schemes,
                                          smtp_port=smtp_sink.port))
    store = SQLiteStore(":memory:")
    base = {"platform": "weibo", "source": "w", "tokens": "停水", "keywords": ["停水"], "schemes": ["water"],
            "published_at": day(0, 9).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    store.upsert_posts([
        {**base, "id": "viral", "text": "停水后喝了井水，一家人疑似中毒送医", "engagement": {"reposts": 300},
         "sentiment": {"label": "negative", "score": 0.95}},
        {**base, "id": "small", "text": "停水，担心中毒", "engagement": {"reposts": 3},
         "sentiment": {"label": "negative", "score": 0.9}},
        {**base, "id": "calm", "text": "停水通知：不会引起中毒", "engagement": {"reposts": 500},
         "sentiment": {"label": "neutral", "score": 0.9}},
    ])
    checker = AlertChecker(settings, store, Notifier(settings))
    fired = [r for r in checker.check(day(0, 10)) if r.alert and r.alert.kind == "sensitive"]
    assert [r.alert.key for r in fired] == ["water:sensitive:viral"]
    assert [r for r in checker.check(day(0, 11)) if r.outcome == "fired"] == []
    [msg] = smtp_sink.messages
    assert str(msg["Subject"]) == "【舆情预警·敏感】供水服务：敏感负面信息（中毒）"
    assert "一家人疑似中毒送医" in msg.get_body(preferencelist=("plain",)).get_content()


def test_negative_share_jump(tmp_path: Path, smtp_sink) -> None:
    schemes = SCHEMES.replace("cooldown: 2d}", "cooldown: 2d, share_jump: 0.3, share_min_total: 10}")
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=schemes,
                                          smtp_port=smtp_sink.port))
    store = SQLiteStore(":memory:")
    for n in range(5):
        add_posts(store, day(n), negative=4, other=16)   # 20 % negative, every day
    add_posts(store, day(5), negative=4, other=4)        # only 8 posts: too few to judge
    add_posts(store, day(6), negative=12, other=8)       # 60 % negative (the volume rule is judged on its own)
    checker = AlertChecker(settings, store, Notifier(settings))
    share5 = [r for r in checker.check(day(5, 23)) if r.decision.why.startswith("负面占比")]
    assert share5[0].outcome == "calm"
    share6 = next(r for r in checker.check(day(6, 23)) if r.decision.why.startswith("负面占比"))
    assert share6.outcome == "fired" and share6.alert.count == 60 and share6.alert.baseline == 20
    subjects = [str(m["Subject"]) for m in smtp_sink.messages]
    assert "【舆情预警·占比】供水服务：负面占比升至 60%（基线 20%）" in subjects


def test_a_bigger_spike_weeks_later_is_a_new_alert_not_an_escalation(setup, smtp_sink) -> None:
    make, store = setup
    settings = make(smtp_sink.port)
    checker = AlertChecker(settings, store, Notifier(settings))
    assert checker.check(day(5, 23))[0].alert.payload["level"] == "一般"
    for n in range(6, 20):  # calm again long after the 2-day cooldown
        add_posts(store, day(n), negative=1)
    add_posts(store, day(20), negative=12)
    later = checker.check(day(20, 23))[0]
    assert later.outcome == "fired" and later.alert.payload["level"] == "较大"
    assert later.alert.payload.get("escalated_from") is None
    assert "升级" not in str(smtp_sink.messages[-1]["Subject"])
