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


class CrawlProgress:
    """One bar for a Scrapy crawl: pages downloaded, with items scraped and stored beside it.

    A crawl has no known total, so the bar counts. While it shows, Scrapy's INFO lines
    (a line per minute of stats, one per spider event) would break it up, so the caller
    lowers Scrapy's log level to WARNING: errors and source problems still print.
    """

    def __init__(self, quiet: bool = False, stream: IO[str] | None = None) -> None:
        self.shown = enabled(quiet, stream)
        self._bar = bar(desc="crawl", unit="page", quiet=quiet, stream=stream) if self.shown else None
        self.items = 0

    def attach(self, crawler) -> None:
        """Count this crawler's pages and items (strong references: Scrapy's signals are weak)."""
        if self._bar is None:
            return
        from scrapy import signals

        crawler.signals.connect(self._page, signal=signals.response_received, weak=False)
        crawler.signals.connect(self._item, signal=signals.item_scraped, weak=False)

    def _page(self, **_: object) -> None:
        self._bar.update(1)

    def _item(self, **_: object) -> None:
        self.items += 1
        self._bar.set_postfix(items=self.items, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
