"""Argument types for the training commands: a wrong path fails at once with the path named,
not minutes later as a model-hub download attempt or a KeyError deep in a reader."""

from __future__ import annotations

import argparse
from pathlib import Path

from nlp.corpora import read_csv


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
    """A UTF-8 CSV that ``nlp.corpora.read_csv`` reads (text and label columns, valid labels),
    read once here so that a bad one fails before the model is loaded."""
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value}: file not found")
    try:
        read_csv(path, path.stem)
    except UnicodeDecodeError as exc:  # a ValueError too: caught first for the clearer message
        raise argparse.ArgumentTypeError(f"{value}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return path


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def step_count(text: str) -> int:
    """Optimiser steps: 0 means derive them from --epochs."""
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not 0 (derive from --epochs) or more")
    return value


def frozen_layers(text: str) -> int:
    """How many of the lowest encoder layers stay fixed: 0 (none) or more."""
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not 0 (train every layer) or more")
    return value


def positive_int(text: str) -> int:
    """A count that must be at least 1 (batch sizes, repeats, --limit, --min-size)."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def corpus_cap(value: str) -> tuple[str, int]:
    """``CORPUS=ROWS`` for ``--cap``."""
    corpus, _, count = value.partition("=")
    if not corpus or not count.isdigit():
        raise argparse.ArgumentTypeError(f"--cap {value!r}: write CORPUS=ROWS, e.g. waimai_10k=9000")
    return corpus, int(count)


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
