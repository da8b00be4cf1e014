"""``yuqing serve``'s scheduler: explicit zones, coalescing, one instance per job."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler

from alerts.service import build_scheduler, check_job, crawl_job
from pipeline.config import load_settings
from tests.conftest import write_config
from tests.test_checker import SCHEMES


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
