"""``yuqing serve``'s scheduler: explicit zones, coalescing, one instance per job."""

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from alerts.service import build_scheduler, check_job, crawl_job
from pipeline.config import load_settings
from pipeline.store.sqlite import SQLiteStore
from tests.conftest import ROOT, write_config
from tests.test_checker import SCHEMES, add_posts


def test_jobs_are_configured_deliberately(tmp_path: Path) -> None:
    sources = ("sources:\n  - {name: a, spider: rss, urls: ['http://127.0.0.1:1/a']}\n"
               "  - {name: b, spider: rss, urls: ['http://127.0.0.1:1/b'], every: 1h}\n"
               "  - {name: c, spider: rss, urls: ['http://127.0.0.1:1/c'], enabled: false}\n")
    settings = load_settings(write_config(tmp_path, sources=sources, schemes=SCHEMES,
                                          extra="schedule: {crawl_every: 15m, check_every: 5m}\n"))
    scheduler = build_scheduler(settings, BackgroundScheduler)
    scheduler.start(paused=True)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    scheduler.shutdown(wait=False)
    assert set(jobs) == {"crawl:a", "crawl:b", "alerts-check", "briefing"}
    assert jobs["crawl:b"].trigger.interval.total_seconds() == 3600
    assert jobs["crawl:a"].args[-1] == ["a"]
    # the jobs are persisted in the store's SQLite file (APScheduler's SQLAlchemy job store)
    import sqlite3
    with sqlite3.connect(tmp_path / "yuqing.db") as conn:
        stored = {r[0] for r in conn.execute("SELECT id FROM apscheduler_jobs")}
    assert stored == set(jobs)
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 300
        assert job.trigger.timezone == ZoneInfo("Asia/Shanghai")
    assert jobs["crawl:a"].trigger.interval.total_seconds() == 900
    assert jobs["alerts-check"].trigger.interval.total_seconds() == 300


def test_check_job_runs_on_an_empty_store(tmp_path: Path) -> None:
    config = write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES)
    assert check_job(str(config)) == 0


def test_crawl_job_is_a_child_process_with_a_timeout(tmp_path: Path) -> None:
    config = write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES)
    started = datetime.now()
    assert crawl_job(str(config), timeout_s=0.01) == -1  # stopped, not hung
    assert (datetime.now() - started).total_seconds() < 30


def test_only_the_lease_holder_runs_jobs(tmp_path: Path) -> None:
    config = write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES)
    assert check_job(str(config), holder="serve-a") == 0
    assert check_job(str(config), holder="serve-b") is None  # the other instance skips
    assert crawl_job(str(config), timeout_s=60, holder="serve-b") is None
    assert check_job(str(config), holder="serve-a") == 0


@pytest.mark.slow
def test_two_serve_processes_send_one_email(tmp_path: Path, smtp_sink) -> None:
    """Two real `yuqing serve` processes on one store: one leader, one e-mail, clean SIGTERM (B19)."""
    config = write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES, smtp_port=smtp_sink.port,
                          extra="schedule: {check_every: 2s}\nbriefing: {enabled: false}\n")
    store = SQLiteStore(tmp_path / "yuqing.db")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=5)
    for n in range(5, 0, -1):
        add_posts(store, today - timedelta(days=n), negative=1)
    add_posts(store, today, negative=9)
    store.close()
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    procs = [subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--config", str(config), "serve"], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    try:
        deadline = time.monotonic() + 120
        while not smtp_sink.messages and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(6)  # several more checks by both processes
        assert [str(m["Subject"]).startswith("【舆情预警") for m in smtp_sink.messages] == [True]
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sum("another yuqing serve holds the lease" in out for out in outputs) == 1, outputs  # one follower


def test_restart_catches_up_a_missed_briefing_and_checks_at_once(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES,
                                          extra="briefing: {time: '00:00'}\n"))
    scheduler = build_scheduler(settings, BackgroundScheduler)
    scheduler.start(paused=True)
    jobs = {j.id: j.next_run_time for j in scheduler.get_jobs()}
    scheduler.shutdown(wait=False)
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    # today's 00:00 has passed: yesterday's briefing runs now (claimed once, so a second start sends nothing)
    assert abs((jobs["briefing"] - now).total_seconds()) < 60
    assert abs((jobs["alerts-check"] - now).total_seconds()) < 60
