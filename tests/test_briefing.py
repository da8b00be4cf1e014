"""The daily briefing (舆情日报) and its schedule (B17: the cron fires at 08:00 Beijing time)."""

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler

from alerts.briefing import send_briefing
from alerts.checker import AlertChecker
from alerts.notify import Notifier
from alerts.service import build_scheduler
from pipeline.config import load_settings
from pipeline.store.sqlite import SQLiteStore
from tests.conftest import write_config
from tests.test_checker import SCHEMES, add_posts, day


def test_briefing_numbers_and_exactly_once(tmp_path: Path, smtp_sink) -> None:
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES,
                                          smtp_port=smtp_sink.port))
    store = SQLiteStore(":memory:")
    for n in range(5):
        add_posts(store, day(n), negative=1)
    add_posts(store, day(5), negative=9)
    store.record_health("weibo-search", "LOGIN_REQUIRED", "visitor page", at=day(5, 10))
    AlertChecker(settings, store, Notifier(settings)).check(day(5, 23))
    assert send_briefing(settings, store, Notifier(settings), date(2025, 6, 6)) == "sent"
    assert send_briefing(settings, store, Notifier(settings), date(2025, 6, 6)) == "already_sent"
    _alert_mail, brief = smtp_sink.messages
    assert str(brief["Subject"]) == "【舆情日报】2025-06-06：共 11 条，负面 9 条"
    text = brief.get_body(preferencelist=("plain",)).get_content()
    assert "供水服务：11 条（11 个事件；前一日 3 条），负面 9 条（前一日 1 条），负面占比 82%" in text
    assert "供水服务：2025-06-06 00:00 (UTC+8) 起负面 9 个事件（sent）" in text
    assert "weibo-search：LOGIN_REQUIRED × 1" in text
    # The first day of service has nothing to compare with: no "前一日 0 条" that reads as a rise.
    assert send_briefing(settings, store, Notifier(settings), date(2025, 6, 1)) == "sent"
    first = smtp_sink.messages[-1]
    text = first.get_body(preferencelist=("plain",)).get_content()
    assert "供水服务：3 条（3 个事件；前一日无采集数据），负面 1 条，负面占比 33%" in text
    assert "（无数据）" in first.get_body(preferencelist=("html",)).get_content()


def test_b17_daily_cron_fires_at_eight_beijing_time_on_a_utc_host(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES,
                                          extra="briefing: {time: '08:00'}\n"))
    scheduler = build_scheduler(settings, BackgroundScheduler)
    scheduler.start(paused=True)
    trigger = scheduler.get_job("briefing").trigger
    scheduler.shutdown(wait=False)
    fire = trigger.get_next_fire_time(None, datetime(2024, 4, 30, 20, 0, tzinfo=UTC))
    assert fire == datetime(2024, 5, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert fire.astimezone(UTC).hour == 0
