"""JOBDIR resume: a crawl stopped midway (SIGTERM, as `yuqing serve`'s timeout or an
operator would) picks up its queue on the next run; nothing is fetched twice or doubled."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_yuqing, write_config

pytestmark = pytest.mark.slow


def test_crawl_killed_midway_resumes_without_duplicates(tmp_path: Path) -> None:
    server = subprocess.Popen([sys.executable, str(ROOT / "bench/newssite.py"), "6", "10", "0.05"],
                              stdout=subprocess.PIPE, text=True)
    try:
        site = server.stdout.readline().strip()
        log: list[str] = []
        threading.Thread(target=lambda: log.extend(line.strip() for line in server.stdout), daemon=True).start()
        config = write_config(tmp_path, schemes="schemes: []\n", sources=f"""\
            sources:
              - {{name: gen-news, spider: news, urls: ["{site}/news/list_1.html"], max_pages: 10}}
            """)
        crawl = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--config", str(config), "crawl"],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONIOENCODING": "utf-8"})
        deadline = time.monotonic() + 120
        while sum("/news/a/" in line for line in log) < 15 and time.monotonic() < deadline:
            time.sleep(0.05)
        crawl.send_signal(signal.SIGTERM)  # Scrapy's graceful shutdown: the queue stays in the JOBDIR
        out, err = crawl.communicate(timeout=120)
        assert "crawl stopped early: shutdown" in out, err[-3000:]
        jobdir = tmp_path / "jobs" / "news-gen-news"
        assert (jobdir / "requests.queue").is_dir()
        with sqlite3.connect(tmp_path / "yuqing.db") as conn:
            stored_first = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        assert 0 < stored_first < 60

        again = run_yuqing(config, "crawl")
        assert again.returncode == 0, again.stderr[-3000:]
        assert "resuming the crawl interrupted earlier" in again.stderr
        with sqlite3.connect(tmp_path / "yuqing.db") as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM posts")]
        assert len(ids) == len(set(ids)) == 60  # complete, nothing doubled
        fetched = Counter(line.removeprefix("GET ") for line in log if "/news/a/" in line)
        assert len(fetched) == 60 and max(fetched.values()) == 1, fetched.most_common(3)
        assert not jobdir.exists()  # finished: the next run starts fresh
    finally:
        server.terminate()
        server.wait(timeout=10)
