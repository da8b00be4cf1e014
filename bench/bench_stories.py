"""Near-duplicate stories: precision/recall on a labelled sample built from real posts, and
throughput and memory at scale.

Quality: every real post of pipeline/demo/data (6,5xx Weibo posts and hot-search items) is
stored; for a random third of them a copy is made the way copies appear in the wild (repost
chain, appended short link, appended comment, traditional characters, a "来源/责任编辑"
frame, punctuation and emoticons changed). Recall: copies placed in their original's story.
Precision: of all post pairs placed in one story, the share that are a copy and its
original — original/original merges are printed so a reader can judge them (real posts can
themselves be duplicates: hashtag templates, the same news on two days).

Scale: ``--scale N`` (default 100,000) posts through StoryBook + SQLite upsert, no model:
posts/s and peak RSS.

    python bench/bench_stories.py [--scale 100000] [--show 15]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.near_dup import _t2s_table  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.ingest import store_batch  # noqa: E402
from pipeline.store.sqlite import SQLiteStore  # noqa: E402
from pipeline.stories import StoryBook  # noqa: E402

DATA = ROOT / "pipeline" / "demo" / "data"
S2T = {v: chr(k) for k, v in _t2s_table().items() if len(v) == 1}


def real_posts() -> list[dict]:
    posts = []
    for path in sorted(DATA.glob("*.jsonl")):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            d = json.loads(line)
            text = d.get("text") or ""
            day = d.get("published_at") or "2020-01-01"
            posts.append({"id": f"{path.stem[:12]}-{i}", "platform": "weibo", "source": d.get("source") or "weibo",
                          "title": d.get("title"), "text": text, "published_at": _iso(day),
                          "crawled_at": "2026-01-01T00:00:00Z", "source_tier": "self_media",
                          "sentiment": {"label": "neutral"}, "keywords": [], "schemes": []})
    return posts


def _iso(day: str) -> str:
    ts = datetime.fromisoformat(day.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def copy_of(post: dict, rng: random.Random, n: int) -> dict:
    text = post["text"]
    kind = rng.choice(["chain", "link", "comment", "traditional", "frame", "punct"])
    if kind == "chain":
        text = f"{rng.choice(['转发微博', '太可怕了', '关注', '唉'])}//@用户{n}:{text}"
    elif kind == "link":
        text = f"{text} http://t.cn/A{n:06d}"
    elif kind == "comment":
        text = f"{text} {rng.choice(['[怒]说得对', '希望早日解决！', '顶一下', '大家转起来'])}"
    elif kind == "traditional":
        text = "".join(S2T.get(ch, ch) for ch in text)
    elif kind == "frame":
        text = f"来源：某某网 {text} 责任编辑：王五"
    else:
        text = text.replace("，", ",").replace("。", "!!").replace("#", " ") + "[doge]"
    at = datetime.fromisoformat(post["published_at"].replace("Z", "+00:00")) + timedelta(hours=rng.randint(0, 30))
    return {**post, "id": f"copy-{n}-{kind}", "text": text, "published_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "copy_of": post["id"], "kind": kind}


def quality(show: int) -> None:
    rng = random.Random(11)
    originals = real_posts()
    copies = [copy_of(p, rng, i) for i, p in enumerate(rng.sample(originals, len(originals) // 3))]
    posts = originals + copies
    rng.shuffle(posts)
    settings = load_settings(ROOT / "config" / "yuqing.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "q.db")
        book = StoryBook(settings, store)
        t0 = time.perf_counter()
        for i in range(0, len(posts), 64):
            store_batch([{k: v for k, v in p.items() if k not in ("copy_of", "kind")} for p in posts[i:i + 64]],
                        store, book)
        elapsed = time.perf_counter() - t0
        cluster = {p["id"]: p["cluster"] for p in store.find_posts()}
        stories = store.find_stories()
        store.close()
    truth = {p["id"]: p.get("copy_of") or p["id"] for p in posts}  # id → its original
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in copies:
        by_kind[c["kind"]][1] += 1
        by_kind[c["kind"]][0] += cluster[c["id"]] == cluster[c["copy_of"]]
    found = sum(v[0] for v in by_kind.values())
    members: dict[str, list[str]] = defaultdict(list)
    for pid, c in cluster.items():
        members[c].append(pid)
    pairs = right = 0
    merges: list[tuple[str, str]] = []
    for ids in members.values():
        for a, b in combinations(ids, 2):
            pairs += 1
            if truth[a] == truth[b]:
                right += 1
            elif not (a.startswith("copy") or b.startswith("copy")):
                merges.append((a, b))
    text = {p["id"]: (p.get("title") or "") + "｜" + p["text"] for p in posts}
    print(f"labelled sample: {len(originals)} real posts + {len(copies)} copies; {len(stories)} stories; "
          f"{len(posts) / elapsed:.0f} posts/s with SQLite")
    print(f"recall (copy joins its original's story): {found}/{len(copies)} = {found / len(copies):.3f}")
    for kind, (ok, n) in sorted(by_kind.items()):
        print(f"  {kind:12s} {ok}/{n} = {ok / n:.3f}")
    print(f"pair precision (same story → same original): {right}/{pairs} = {right / max(1, pairs):.3f}; "
          f"original/original pairs merged: {len(merges)} (real duplicates or false merges — read them)")
    for a, b in random.Random(1).sample(merges, min(show, len(merges))):
        print(f"  - {text[a][:70]}\n    {text[b][:70]}")


def scale(n: int) -> None:
    rng = random.Random(5)
    originals = real_posts()
    settings = load_settings(ROOT / "config" / "yuqing.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "s.db")
        book = StoryBook(settings, store)
        t0 = time.perf_counter()
        done = 0
        while done < n:
            batch = []
            for _ in range(min(256, n - done)):
                base = rng.choice(originals)
                post = copy_of(base, rng, done) if rng.random() < 0.3 else {
                    **base, "id": f"p{done}", "text": f"{base['text']} 第{done}号"}
                batch.append({k: v for k, v in post.items() if k not in ("copy_of", "kind")})
                done += 1
            store_batch(batch, store, book)
        elapsed = time.perf_counter() - t0
        stories = len(store.find_stories())
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scale: {n} posts → {stories} stories in {elapsed:.1f} s = {n / elapsed:.0f} posts/s "
          f"(StoryBook + SQLite upsert, batches of 256); peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=int, default=100_000)
    ap.add_argument("--show", type=int, default=15)
    args = ap.parse_args()
    quality(args.show)
    if args.scale:
        scale(args.scale)
