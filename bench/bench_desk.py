"""The analyst's desk: DataFrame loader, exports and the report, on both stores.

    python bench/bench_desk.py [--posts 20000] [--no-elastic]

Stores posts built from the bundled real texts (labels, keywords and engagement assigned
deterministically, no model: this measures reading, not analysing), then prints the loader
time per store (SQLite file, osmem-server as the Elasticsearch stand-in), export rows/s per
format and the report time.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import ElasticConfig, load_settings  # noqa: E402
from pipeline.export import export_posts  # noqa: E402
from pipeline.frame import load_posts, post_filter  # noqa: E402
from pipeline.report import write_report  # noqa: E402
from pipeline.store.sqlite import SQLiteStore  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
WORDS = ["停水", "投诉", "医院", "口罩", "物资", "排队", "通知", "恢复", "抢修", "维修", "爆管", "水质"]


def synthetic(n: int) -> list[dict]:
    rng = random.Random(7)
    texts = []
    for path in sorted((ROOT / "pipeline/demo/data").glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    posts = []
    for i in range(n):
        when = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 120))
        keywords = rng.sample(WORDS, 3)
        posts.append({"id": f"bench-{i}", "platform": rng.choice(["weibo", "rss", "news"]),
                      "source": rng.choice(["微博", "本地新闻网", "论坛", "热搜"]), "url": f"https://example.com/{i}",
                      "title": None, "text": texts[i % len(texts)], "author": f"user{i % 500}",
                      "published_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "crawled_at": None,
                      "engagement": {"reposts": rng.randrange(50), "comments": rng.randrange(20)},
                      "tokens": " ".join(keywords), "keywords": keywords,
                      "sentiment": {"label": rng.choice(["negative", "neutral", "positive"]), "score": rng.random()},
                      "schemes": ["water-supply"] if "停水" in keywords else []})
    return posts


def timed(label: str, fn) -> object:
    t = time.perf_counter()
    out = fn()
    print(f"  {label}: {time.perf_counter() - t:.2f}s")
    return out


def bench_store(name: str, store, posts: list[dict], settings, tmp: Path) -> None:
    print(f"== {name}: {len(posts)} posts")
    for i in range(0, len(posts), 2000):
        store.upsert_posts(posts[i:i + 2000])
    df = timed(f"load_posts() all {len(posts)}", lambda: load_posts(store))
    assert len(df) == len(posts)
    t = time.perf_counter()
    load_posts(store, sentiment="negative", since="2024-02-01", until="2024-02-29")
    print(f"  load_posts(negative, one month): {time.perf_counter() - t:.2f}s")
    flt = post_filter(TZ, since="2024-01-01", until="2024-12-31")
    for fmt in ("csv", "jsonl", "xlsx"):
        r = export_posts(store, flt, fmt, tmp / f"{name}.{fmt}", tz=TZ)
        print(f"  export {fmt}: {r.rows} rows in {r.seconds:.2f}s = {r.rows_per_second:,.0f} rows/s")
    t = time.perf_counter()
    write_report(settings, store, "water-supply", datetime(2024, 1, 1, tzinfo=TZ), datetime(2024, 5, 1, tzinfo=TZ),
                 tmp / f"report-{name}")
    print(f"  report (120 days, HTML+PDF+PNG): {time.perf_counter() - t:.2f}s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--no-elastic", action="store_true")
    args = ap.parse_args()
    posts = synthetic(args.posts)
    settings = load_settings(ROOT / "config/yuqing.yaml")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        store = SQLiteStore(tmp / "bench.db")
        bench_store("sqlite", store, posts, settings, tmp)
        store.close()
        if not args.no_elastic:
            from osmem_server import OsmemServer

            from pipeline.store.elastic import ElasticStore

            with OsmemServer.start(seed=[], freeze=False) as server:
                es = ElasticStore(server.url, ElasticConfig(compat="opensearch", dead_letter=str(tmp / "dead.jsonl")))
                es.setup()
                bench_store("elasticsearch (osmem)", es, posts, settings, tmp)
                es.close()


if __name__ == "__main__":
    main()
