"""Sentiment quality and speed: the shipped model (and optionally a teacher) beside SnowNLP.

    pip install -e ".[bench]"   # SnowNLP, the baseline
    python bench/bench_sentiment.py [--data ../shared/data/sentiment] [--teacher DIR ... | --no-teacher] [--no-snownlp]

For every dev set: binary accuracy and macro-F1 on the 0/1 rows, 3-class macro-F1 where
neutral rows exist (with the calibration error of ``score``), and weibo_senti_100k with
emoticons removed; the hand-written negation/contrast sets and the hand-labelled news leads from
tests/fixtures. Throughput on 2 threads at batch 64 over real posts, and peak RSS, for the shipped
model and each teacher (each in a child process of its own) is measured first. ``--teacher`` may be
repeated: the default student is distilled from two teachers, the shipped 4-layer one and a
12-layer one that is rebuilt by a documented command (too large to ship), and both are measured.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from nlp.corpora import REVIEWS, WEIBO_HUMAN, load_split  # noqa: E402
from nlp.evaluate import calibration_error, metrics  # noqa: E402
from nlp.sentiment import DEFAULT_MODEL, TEACHER_MODEL, Sentiment, SentimentClassifier  # noqa: E402


def snownlp_predict(texts: list[str]) -> list[Sentiment]:
    from snownlp import SnowNLP
    out = []
    for t in texts:
        p = SnowNLP(t).sentiments if t.strip() else 0.5
        out.append(Sentiment(label="positive" if p >= 0.5 else "negative", score=max(p, 1 - p),
                             probs={"negative": 1 - p, "positive": p, "neutral": 0.0}))
    return out


def hand_labelled(systems: dict) -> dict:
    """The hand-written negation/contrast sets (polar accuracy) and the hand-labelled news leads
    (what share of the plainly reported ones comes out neutral, and negative)."""
    import csv

    fixtures = ROOT / "tests" / "fixtures"
    out: dict[str, dict] = {}
    for name, predict in systems.items():
        row: dict[str, object] = {}
        for key in ("negation_contrast_gold", "negation_contrast_heldout"):
            rows = list(csv.DictReader((fixtures / f"{key}.csv").open(encoding="utf-8")))
            polar = metrics([int(r["label"]) for r in rows], predict([r["text"] for r in rows]))
            row[key] = f"{round(polar['binary_accuracy'] * len(rows))}/{len(rows)}"
        if name != "snownlp":  # no neutral class
            leads = [r["text"] for r in csv.DictReader((fixtures / "news_leads_gold.csv").open(encoding="utf-8"))
                     if r["label"] == "2"]
            labels = [p.label for p in predict(leads)]
            row["news_neutral_leads"] = {k: round(labels.count(k) / len(leads), 3)
                                         for k in ("neutral", "negative", "positive")}
        out[name] = row
        print(f"{name}: hand-written negation/contrast {row['negation_contrast_gold']}, held-out "
              f"{row['negation_contrast_heldout']}" + (f"; neutral news leads → {row['news_neutral_leads']}"
                                                       if "news_neutral_leads" in row else ""))
    return out


def measure_speed(model: Path, threads: int) -> dict:
    """Posts/s and peak RSS of one model, in a child process so each model's memory is its own."""
    proc = subprocess.run([sys.executable, __file__, "--speed-of", str(model), "--threads", str(threads)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def speed_of(model: Path, threads: int) -> dict:
    torch.set_num_threads(threads)
    posts = [json.loads(line)["text"] for line in
             (ROOT / "pipeline/demo/data/weibo_covid19_posts_2020.jsonl").open(encoding="utf-8")][:1024]
    clf = SentimentClassifier(model, batch_size=64)
    clf.predict(posts[:64])
    start = time.perf_counter()
    clf.predict(posts)
    rate = len(posts) / (time.perf_counter() - start)
    return {"posts": len(posts), "mean_chars": round(sum(map(len, posts)) / len(posts), 1),
            "posts_per_s": round(rate, 1),
            "peak_rss_mib": round(peak_rss_mib())}


def peak_rss_mib() -> float:
    """This process's own peak RSS. Not ru_maxrss: Linux carries that across exec, so a child would
    report its parent's peak (SnowNLP and every dev set) instead of the model's."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--teacher", type=Path, action="append",
                    help="a teacher measured beside the shipped model (repeatable; default: the shipped teacher)")
    ap.add_argument("--no-teacher", action="store_true")
    ap.add_argument("--no-snownlp", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--speed-of", type=Path, help=argparse.SUPPRESS)  # the child of measure_speed
    args = ap.parse_args()
    if args.speed_of:
        print(json.dumps(speed_of(args.speed_of, args.threads)))
        return
    torch.set_num_threads(args.threads)
    teachers = [] if args.no_teacher else (args.teacher or [TEACHER_MODEL])
    # "teacher" is the first teacher; further ones are named by their folder.
    named = {"shipped": args.model, **{("teacher" if i == 0 else t.name): t for i, t in enumerate(teachers)}}
    # Speed first, while this process is idle and small: its worker threads and memory would
    # otherwise share the two cores with the child that measures (~15 % slower, measured).
    speeds = {}
    for name, model in named.items():
        speed = speeds[name] = measure_speed(model, args.threads)
        print(f"throughput ({name}: {model.name}, {args.threads} threads, batch 64, {speed['posts']} real posts, "
              f"mean {speed['mean_chars']:.0f} chars): {speed['posts_per_s']:.0f} posts/s, "
              f"peak RSS {speed['peak_rss_mib']:.0f} MiB", flush=True)
    systems = {name: SentimentClassifier(model).predict for name, model in named.items()}
    if not args.no_snownlp:
        systems["snownlp"] = snownlp_predict
    dev = load_split(args.data, "dev")
    results: dict[str, dict] = {}
    print(f"{'dev set':<28}{'n':>6}  " + "  ".join(f"{s + ' acc/F1':>18}" for s in systems))
    for corpus, rows in dev.items():
        binary = [r for r in rows if r.label in (0, 1)]
        texts, gold = [r.text for r in binary], [r.label for r in binary]
        line = {name: metrics(gold, predict(texts)) for name, predict in systems.items()}
        results[corpus] = {name: {"binary_accuracy": m["binary_accuracy"], "macro_f1": m["macro_f1"]}
                           for name, m in line.items()}
        print(f"{corpus:<28}{len(binary):>6}  " + "  ".join(
            f"{m['binary_accuracy']:>9.3f}/{m['macro_f1']:.3f}" for m in line.values()))
        if len(binary) != len(rows):
            for name in named:  # SnowNLP has no neutral class
                gold3, got3 = [r.label for r in rows], systems[name]([r.text for r in rows])
                three = metrics(gold3, got3)
                results[corpus][name]["three_class_macro_f1"] = three["macro_f1"]
                results[corpus][name]["calibration_error"] = calibration_error(gold3, got3)
                results[corpus][name]["neutral_recall"] = three["per_class"].get("neutral", {}).get("recall")
                print(f"{'  3-class (with neutral)':<28}{len(rows):>6}  {name} macro-F1 {three['macro_f1']:.3f}, "
                      f"neutral recall {results[corpus][name]['neutral_recall']}, "
                      f"ECE {results[corpus][name]['calibration_error']}")
    for name in systems:
        weibo = [results[c][name]["binary_accuracy"] for c in WEIBO_HUMAN if c in results]
        reviews = [results[c][name]["binary_accuracy"] for c in REVIEWS if c in results]
        print(f"{name}: mean binary accuracy, human-labelled Weibo sets {sum(weibo) / len(weibo):.3f}; "
              f"review sets {sum(reviews) / len(reviews):.3f}")
        results.setdefault("_summary", {})[name] = {"weibo_human": round(sum(weibo) / len(weibo), 4),
                                                    "reviews": round(sum(reviews) / len(reviews), 4)}
    results["_hand_labelled"] = hand_labelled(systems)
    results["_throughput"] = speeds
    results["_throughput_posts_per_s"] = speeds["shipped"]["posts_per_s"]
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
