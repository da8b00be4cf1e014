"""Argument types for the training commands: a wrong path fails at once with the path named,
not minutes later as a model-hub download attempt or a KeyError deep in a reader."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


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
    """A CSV with ``text`` and ``label`` columns."""
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value}: file not found")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        columns = csv.DictReader(fh).fieldnames or []
    if not {"text", "label"} <= set(columns):
        raise argparse.ArgumentTypeError(f"{value}: needs columns text,label; has {','.join(columns) or 'none'}")
    return path
