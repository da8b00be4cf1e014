"""Processor throughput per stage and per batch, on the bundled real posts.

    python bench/bench_processor.py [--posts 2000] [--batch 64] [--threads 2]

Prints posts/second for each stage (clean, segment, sentiment, schemes, SQLite upsert),
for the whole Processor batch path, and the peak RSS of this process.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import load_settings  # noqa: E402
from pipeline.processor import Processor, batched  # noqa: E402
from pipeline.store.sqlite import SQLiteStore  # noqa: E402


def load_posts(n: int) -> list[dict]:
    posts = []
    for path in sorted((ROOT / "pipeline/demo/data").glob("*.jsonl")):
        for i, line in enumerate(path.open(encoding="utf-8")):
            rec = json.loads(line)
            ts = rec["published_at"] if "T" in rec["published_at"] else rec["published_at"] + "T12:00:00+08:00"
            posts.append({"platform": "weibo", "source": path.stem, "platform_id": f"{path.stem}-{i}",
                          "title": rec.get("title"), "text": rec["text"], "published_at": ts})
    step = max(1, len(posts) // n)
    return posts[::step][:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    settings = load_settings(ROOT / "config/yuqing.yaml")
    t0 = time.perf_counter()
    proc = Processor(settings)
    print(f"load: {time.perf_counter() - t0:.1f}s (jieba + model {proc.classifier.name})")
    raw = load_posts(args.posts)
    chars = sum(len(p["text"]) for p in raw) / len(raw)
    print(f"posts: {len(raw)} real posts, mean {chars:.0f} characters, batch {args.batch}, {args.threads} threads")

    timings = dict.fromkeys(["clean", "segment", "sentiment", "schemes", "store"], 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        start = time.perf_counter()
        for batch in batched(raw, args.batch):
            t = time.perf_counter()
            posts = [p for p, _ in (proc.clean(r) for r in batch) if p]
            timings["clean"] += time.perf_counter() - t
            for name, step in proc.steps:
                t = time.perf_counter()
                posts = step(posts)
                timings[name] += time.perf_counter() - t
            t = time.perf_counter()
            store.upsert_posts(posts)
            timings["store"] += time.perf_counter() - t
        total = time.perf_counter() - start
        store.close()
    for name, seconds in timings.items():
        print(f"  {name:<10} {len(raw) / seconds:10.0f} posts/s  ({seconds:.2f}s)")
    print(f"  {'end-to-end':<10} {len(raw) / total:10.0f} posts/s  ({total:.2f}s, Processor + SQLite)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
