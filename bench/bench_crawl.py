"""The news spider over a generated 1,000-page site (50 list pages, 950 articles) on loopback.

    python bench/bench_crawl.py [--concurrency 8]

Two runs, each a ``yuqing crawl`` child process on a fresh temporary SQLite store:

1. the real pipeline: download → decode → trafilatura/dates → Processor (jieba, the
   shipped sentiment model) → SQLite; prints pages/s, posts/s and the child's peak RSS;
2. crawl only: the same crawl with ``-s ITEM_PIPELINES={}`` (items are extracted and then
   discarded; no model is loaded), to show what the crawler itself costs.

Rates are over Scrapy's own ``elapsed_time_seconds`` (the crawl, not the process start and
model load); wall time includes those.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.newssite import NewsSite  # noqa: E402


def write_config(tmp: Path, site: str, concurrency: int) -> Path:
    (tmp / "sources.yaml").write_text(textwrap.dedent(f"""\
        sources:
          - {{name: bench-news, spider: news, urls: ["{site}/news/list_1.html"], max_pages: 100}}
        """), encoding="utf-8")
    (tmp / "schemes.yaml").write_text("schemes: []\n", encoding="utf-8")
    config = tmp / "yuqing.yaml"
    config.write_text(textwrap.dedent(f"""\
        store: sqlite:///{tmp / 'bench.db'}
        model: {{path: {ROOT / 'nlp/models/yuqing-sentiment-fast'}}}
        userdict: {ROOT / 'config/userdict.txt'}
        crawl: {{download_delay: 0, concurrency_per_domain: {concurrency}, batch_size: 64}}
        """), encoding="utf-8")
    return config


def crawl(config: Path, *extra: str) -> tuple[float, float, float, str]:
    """(wall seconds, Scrapy elapsed seconds, peak RSS MiB, stdout) of one crawl child."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--config", str(config), "crawl", *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"crawl failed ({proc.returncode}):\n{err[-3000:]}")
    elapsed = re.search(r"'elapsed_time_seconds': ([\d.]+)", err)
    rss = re.search(r"'memusage/max': (\d+)", err)  # Scrapy's MemoryUsage extension samples the child's RSS
    return wall, float(elapsed.group(1)) if elapsed else wall, int(rss.group(1)) / 2**20 if rss else float("nan"), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--concurrency", type=int, default=8, help="concurrent requests to the site")
    ap.add_argument("--lists", type=int, default=50)
    ap.add_argument("--per-list", type=int, default=19)
    args = ap.parse_args()
    site = NewsSite(args.lists, args.per_list).start()
    print(f"site: {site.pages} pages ({args.lists} list pages, {args.lists * args.per_list} articles) at {site.url}")
    try:
        runs = (("full pipeline (extract + jieba + sentiment model + SQLite)", ()),
                ("crawl only (ITEM_PIPELINES={}: download, decode, extract)", ("-s", "ITEM_PIPELINES={}")))
        for label, extra in runs:
            with tempfile.TemporaryDirectory() as tmp:
                before = len(site.requests)
                wall, elapsed, peak, out = crawl(write_config(Path(tmp), site.url, args.concurrency), *extra)
                pages = sum(1 for p in site.requests[before:] if p != "/robots.txt")
                with sqlite3.connect(Path(tmp) / "bench.db") as conn:
                    posts = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
                items = int(re.search(r"news: (\d+) items", out).group(1))
            print(f"\n{label}")
            print(f"  pages fetched: {pages}, items extracted: {items}, posts stored: {posts}")
            print(f"  crawl time: {elapsed:.1f}s (wall {wall:.1f}s incl. start-up{' and model load' if posts else ''})")
            print(f"  {pages / elapsed:.1f} pages/s, {items / elapsed:.1f} items/s"
                  + (f", {posts / elapsed:.1f} posts/s stored" if posts else ""))
            print(f"  peak RSS: {peak:.0f} MiB")
    finally:
        site.stop()


if __name__ == "__main__":
    main()
