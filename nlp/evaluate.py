"""Accuracy, macro-F1 and confusion for sentiment predictions.

``binary_accuracy`` is for data labelled only negative/positive: a neutral prediction
is resolved by whichever polar probability is larger, so a 3-class model is judged
fairly on binary sets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from nlp.corpora import LABELS, Example, load_split
from nlp.sentiment import Sentiment, SentimentClassifier


def metrics(gold: Sequence[int], predicted: Sequence[Sentiment]) -> dict:
    """The JSON object printed by ``yuqing sentiment eval``."""
    n = len(gold)
    pred = [LABELS.index(p.label) if p.label else -1 for p in predicted]
    present = sorted(set(gold))
    confusion = [[sum(1 for g, p in zip(gold, pred, strict=True) if g == a and p == b) for b in range(3)]
                 for a in range(3)]
    per_class = {}
    for c in present:
        tp = confusion[c][c]
        fp = sum(confusion[a][c] for a in range(3)) - tp
        fn = sum(confusion[c]) - tp
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[LABELS[c]] = {"precision": round(precision, 4), "recall": round(recall, 4),
                                "f1": round(f1, 4), "support": tp + fn}
    out = {
        "n": n,
        "accuracy": round(sum(g == p for g, p in zip(gold, pred, strict=True)) / n, 4) if n else 0.0,
        "macro_f1": round(sum(v["f1"] for v in per_class.values()) / len(per_class), 4) if per_class else 0.0,
        "per_class": per_class,
        "confusion": {"labels": list(LABELS), "matrix": confusion},
    }
    if n and set(present) <= {0, 1}:
        binary = [0 if p.probs and p.probs.get("negative", 0) >= p.probs.get("positive", 0) else 1
                  for p in predicted]
        out["binary_accuracy"] = round(sum(g == b for g, b in zip(gold, binary, strict=True)) / n, 4)
    return out


def calibration_error(gold: Sequence[int], predicted: Sequence[Sentiment], bins: int = 10) -> float:
    """Expected calibration error of ``score`` (the top probability): the gap between confidence and
    accuracy, averaged over equal-width confidence bins weighted by their size. 0 is perfect."""
    pairs = [(p.score, LABELS.index(p.label) == g) for g, p in zip(gold, predicted, strict=True) if p.label]
    if not pairs:
        return 0.0
    total = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [(s, ok) for s, ok in pairs if low < s <= high or (b == 0 and s == 0)]
        if members:
            confidence = sum(s for s, _ in members) / len(members)
            accuracy = sum(ok for _, ok in members) / len(members)
            total += len(members) / len(pairs) * abs(confidence - accuracy)
    return round(total, 4)


def evaluate_examples(classifier: SentimentClassifier, rows: Sequence[Example]) -> dict:
    return metrics([r.label for r in rows], classifier.predict([r.text for r in rows]))


def evaluate_corpora(model: Path | str, data_root: Path) -> dict:
    """Every dev set under ``data_root``: binary sets, the neutral sets as 3-class."""
    clf = SentimentClassifier(model)
    results = {}
    for corpus, rows in load_split(data_root, "dev").items():
        binary = [r for r in rows if r.label in (0, 1)]
        results[corpus] = {"binary": evaluate_examples(clf, binary)}
        if len(binary) != len(rows):
            results[corpus]["three_class"] = evaluate_examples(clf, rows)
    return results


def write_metrics(model: Path, data_root: Path) -> dict:
    """Evaluate a freshly trained model on every dev set and keep the numbers beside its weights."""
    results = evaluate_corpora(model, data_root)
    (model / "metrics.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return results
