"""``yuqing serve``: the scheduler that crawls and checks around the clock (APScheduler 3).

Jobs are module-level functions that take the config path, so APScheduler can run them
from any executor. Each crawl runs in its own process (Twisted's reactor cannot
restart in one process) with a timeout; the alert check runs in this process. Every
trigger carries an explicit time zone (field report B17); ``coalesce=True`` with an
explicit ``misfire_grace_time`` means a restart after downtime runs one catch-up, not
one per missed interval; ``max_instances=1`` keeps a slow job from overlapping itself.
Alerts are exactly-once through the store, whatever runs them; on top of that only the
holder of a lease in the store runs jobs, so two `serve` processes do not crawl twice.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from pipeline.config import Settings, load_settings
from pipeline.store import store_for

log = logging.getLogger(__name__)
HOLDER = f"{socket.gethostname()}:{os.getpid()}"
LEASE = "serve"


def is_leader(settings: Settings, holder: str) -> bool:
    """Only one `serve` among several on one store runs jobs: the holder of the store's lease."""
    store = store_for(settings)
    try:
        ttl = settings.app.schedule.check_every * 3
        leader = store.try_lock(LEASE, holder, ttl, datetime.now(settings.tz))
    finally:
        store.close()
    if not leader:
        log.info("another yuqing serve holds the lease; skipping this run")
    return leader


def crawl_job(config: str, timeout_s: float, holder: str = HOLDER, sources: list[str] | None = None) -> int | None:
    """Crawl the given sources (default: every enabled one) in a child process; returns its exit
    status (None: not the leader)."""
    if not is_leader(load_settings(config), holder):
        return None
    cmd = [sys.executable, "-m", "pipeline.cli", "--config", config, "crawl", *(sources or [])]
    try:
        return subprocess.run(cmd, timeout=timeout_s, check=False).returncode
    except subprocess.TimeoutExpired:
        log.error("crawl did not finish within %.0fs and was stopped", timeout_s)
        return -1


def check_job(config: str, holder: str = HOLDER) -> int | None:
    """One alert check over every scheme and every source's health; returns how many alerts fired."""
    from alerts.checker import AlertChecker
    from alerts.notify import Notifier
    from alerts.source_health import check_sources

    settings = load_settings(config)
    if not is_leader(settings, holder):
        return None
    store = store_for(settings)
    try:
        now = datetime.now(settings.tz)
        notifier = Notifier(settings)
        results = AlertChecker(settings, store, notifier).check(now)
        silent = check_sources(settings, store, notifier, now)
    finally:
        store.close()
    return sum(r.outcome == "fired" for r in results) + len(silent)


def briefing_job(config: str, holder: str = HOLDER) -> str | None:
    """Yesterday's 舆情日报 (Beijing time), sent once."""
    from datetime import timedelta

    from alerts.briefing import send_briefing
    from alerts.notify import Notifier

    settings = load_settings(config)
    if not is_leader(settings, holder):
        return None
    store = store_for(settings)
    try:
        yesterday = datetime.now(settings.tz).date() - timedelta(days=1)
        return send_briefing(settings, store, Notifier(settings), yesterday)
    finally:
        store.close()


def job_store_url(settings: Settings) -> str:
    """APScheduler's jobs live in the SQLite store's file, or in data/scheduler.db beside an ES store."""
    store = settings.app.store
    if store.startswith("sqlite:"):
        return "sqlite:" + store.removeprefix("sqlite:")
    return "sqlite:///data/scheduler.db"


def _create_jobs_table(jobstore) -> None:
    """The job table, made safely when two `serve` processes start together: APScheduler's own
    check-then-CREATE lets the second one die on "table already exists" (seen in CI)."""
    from sqlalchemy.exc import OperationalError

    try:
        jobstore.jobs_t.create(jobstore.engine, checkfirst=True)
    except OperationalError as exc:
        if "already exists" not in str(exc):
            raise


def build_scheduler(settings: Settings, scheduler_cls: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    cfg = settings.app.schedule
    tz = settings.tz
    url = job_store_url(settings)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    jobstore = SQLAlchemyJobStore(url=url)
    _create_jobs_table(jobstore)
    scheduler = scheduler_cls(timezone=tz, jobstores={"default": jobstore}, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": int(cfg.misfire_grace.total_seconds())})
    config = str(Path(settings.path).resolve())
    for source in settings.sources:  # each source at its own interval
        if not source.enabled:
            continue
        every = source.every or cfg.crawl_every
        scheduler.add_job(crawl_job, IntervalTrigger(seconds=int(every.total_seconds()), timezone=tz),
                          args=[config, cfg.crawl_timeout.total_seconds(), HOLDER, [source.name]],
                          id=f"crawl:{source.name}", name=f"crawl {source.name}", replace_existing=True,
                          next_run_time=datetime.now(tz))
    # A (re)start checks at once: an incident during downtime is reported now, not a period later.
    now = datetime.now(tz)
    scheduler.add_job(check_job, IntervalTrigger(seconds=int(cfg.check_every.total_seconds()), timezone=tz),
                      args=[config], id="alerts-check", name="alert check", replace_existing=True,
                      next_run_time=now)

    brief = settings.app.briefing
    if brief.enabled:
        hour, minute = (int(x) for x in brief.time.split(":"))
        # Re-adding the job on start recomputes its next time, so a briefing missed while the
        # service was down would wait a day: past today's time it runs now (sent once per day).
        due_today = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        scheduler.add_job(briefing_job, CronTrigger(hour=hour, minute=minute, timezone=tz), args=[config],
                          id="briefing", name="daily briefing", replace_existing=True,
                          **({"next_run_time": now} if now >= due_today else {}))

    def on_event(event: JobExecutionEvent) -> None:
        store = store_for(settings)
        try:
            kind = "JOB_MISSED" if event.code == EVENT_JOB_MISSED else "JOB_ERROR"
            store.record_health(f"scheduler/{event.job_id}", kind, str(getattr(event, "exception", "") or kind))
        finally:
            store.close()

    scheduler.add_listener(on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def serve(settings: Settings) -> int:
    scheduler = build_scheduler(settings)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: shutting down after running jobs finish", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    log.info("yuqing serve: crawl every %s, alert check every %s (%s)", settings.app.schedule.crawl_every,
             settings.app.schedule.check_every, settings.app.timezone)
    scheduler.start()
    return 0
