"""Argument types for the training commands: a wrong path fails at once with the path named,
not minutes later as a model-hub download attempt or a KeyError deep in a reader."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from nlp.corpora import LABEL_HELP, parse_label


def model_dir(value: str) -> Path:
    """A local transformers directory (never a hub id: training runs offline)."""
    path = Path(value)
    if not (path / "config.json").is_file():
        raise argparse.ArgumentTypeError(f"{value}: not a model directory (no config.json there)")
    return path


def data_dir(value: str) -> Path:
    """The labelled corpora root: folders holding train.csv / dev.csv."""
    path = Path(value)
    if not path.is_dir() or (not any(path.glob("*/train.csv")) and not any(path.glob("*/dev.csv"))):
        raise argparse.ArgumentTypeError(f"{value}: no corpus folders with train.csv / dev.csv")
    return path


def posts_dir(value: str) -> Path:
    path = Path(value)
    if not path.is_dir() or not any(path.glob("*.jsonl")):
        raise argparse.ArgumentTypeError(f"{value}: not a folder of *.jsonl posts")
    return path


def labelled_csv(value: str) -> Path:
    """A UTF-8 CSV with ``text`` and ``label`` columns whose every label is one of LABEL_HELP."""
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value}: file not found")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            if not {"text", "label"} <= set(columns):
                has = ",".join(columns) or "none"
                raise argparse.ArgumentTypeError(f"{value}: needs columns text,label; has {has}")
            for line, row in enumerate(reader, start=2):
                if parse_label(row["label"]) is None:
                    raise argparse.ArgumentTypeError(f"{value}:{line}: label {row['label']!r} is not {LABEL_HELP}")
    except UnicodeDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{value}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return path


def step_count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value}: must be 0 (derive from --epochs) or more")
    return number


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be 1 or more")
    return number


def check_output_dir(ap: argparse.ArgumentParser, out: Path) -> None:
    """``--out`` must be a folder (new or existing), not a file."""
    if out.exists() and not out.is_dir():
        ap.error(f"--out {out}: is a file, not a folder for the model")


def check_caps(ap: argparse.ArgumentParser, caps: dict[str, int], data: Path) -> None:
    """A cap for a corpus that is not there is a typo, not a no-op."""
    known = sorted(p.name for p in data.iterdir() if p.is_dir())
    for corpus in caps:
        if corpus not in known:
            ap.error(f"--cap {corpus}: no such corpus under {data}; known: {', '.join(known)}")
