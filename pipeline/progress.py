"""Progress bars for long CLI runs (imports, exports, backtests), on stderr.

Bars go to stderr so stdout stays clean for pipes (``yuqing export -o -``), and they are
off when stderr is not a terminal (CI, cron, log files) or with ``--quiet``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import IO, TypeVar

T = TypeVar("T")


def enabled(quiet: bool = False, stream: IO[str] | None = None) -> bool:
    stream = stream or sys.stderr
    return not quiet and hasattr(stream, "isatty") and stream.isatty()


def progress(items: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "post",
             quiet: bool = False, stream: IO[str] | None = None) -> Iterator[T]:
    """``items`` unchanged, with a tqdm bar on ``stream`` (stderr) when it is a terminal."""
    from tqdm import tqdm

    stream = stream or sys.stderr
    with tqdm(items, total=total, desc=desc, unit=unit, file=stream, disable=not enabled(quiet, stream),
              dynamic_ncols=True, mininterval=0.5) as bar:
        yield from bar


def bar(*, total: int | None = None, desc: str = "", unit: str = "post", quiet: bool = False,
        stream: IO[str] | None = None):
    """A manual tqdm bar (``update(n)``) for work that is not one iterable, e.g. batches."""
    from tqdm import tqdm

    stream = stream or sys.stderr
    return tqdm(total=total, desc=desc, unit=unit, file=stream, disable=not enabled(quiet, stream),
                dynamic_ncols=True, mininterval=0.5)
