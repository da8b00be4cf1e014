"""Bulk indexing throughput of the Elasticsearch store against osmem-server.

    python bench/bench_elastic.py [--docs 6000] [--batch 500]

Indexes the bundled demo posts (shaped as analysed posts) through ``ElasticStore``
(streaming bulk, per-item inspection) and prints documents/second per batch size.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from osmem_server import OsmemServer  # noqa: E402

from pipeline.config import ElasticConfig  # noqa: E402
from pipeline.store.elastic import ElasticStore  # noqa: E402


def posts(n: int) -> list[dict]:
    out = []
    for path in sorted((ROOT / "pipeline/demo/data").glob("*.jsonl")):
        for i, line in enumerate(path.open(encoding="utf-8")):
            rec = json.loads(line)
            day = rec["published_at"][:10]
            out.append({"id": f"{path.stem}-{i}", "platform": "weibo", "source": path.stem, "text": rec["text"],
                        "title": rec.get("title"), "published_at": f"{day}T04:00:00Z", "crawled_at": f"{day}T05:00:00Z",
                        "engagement": {"reposts": i % 7}, "tokens": " ".join(rec["text"][:40]), "keywords": ["示例"],
                        "sentiment": {"label": ("negative", "neutral", "positive")[i % 3], "score": 0.8},
                        "schemes": ["demo"]})
    return out[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=6000)
    ap.add_argument("--batch", type=int, nargs="+", default=[100, 500, 2000])
    args = ap.parse_args()
    docs = posts(args.docs)
    for batch in args.batch:
        with OsmemServer.start() as server, tempfile.TemporaryDirectory() as tmp:
            store = ElasticStore(server.url, ElasticConfig(compat="opensearch", chunk_size=batch,
                                                           dead_letter=f"{tmp}/dead.jsonl"))
            store.setup()
            start = time.perf_counter()
            for i in range(0, len(docs), batch):
                store.upsert_posts(docs[i:i + batch])
            seconds = time.perf_counter() - start
            print(f"batch {batch:>5}: {len(docs)} docs in {seconds:.1f}s = {len(docs) / seconds:,.0f} docs/s "
                  f"(count {store.count_posts()})")
            store.close()


if __name__ == "__main__":
    main()
