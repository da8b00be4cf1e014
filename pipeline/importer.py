"""``yuqing import FILE.jsonl``: exports from internal channels into the Processor.

Each line is one JSON object. A field mapping renames the export's keys to ours
(text, title, url, author, published_at, platform, source, id). A bad line (not JSON,
no text, an unreadable time) is reported with its line number and skipped; the good
lines are imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from crawlers.dates import parse_cn_time
from pipeline.errors import YuqingError, open_input
from pipeline.ingest import store_batch
from pipeline.processor import BatchReport, Processor
from pipeline.store import Store, WriteResult
from pipeline.stories import StoryBook

FIELDS = ("text", "title", "url", "author", "published_at", "platform", "source", "id")


@dataclass
class ImportReport:
    lines: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    batch: BatchReport = field(default_factory=BatchReport)
    written: WriteResult = field(default_factory=WriteResult)


def read_jsonl(path: Path, mapping: dict[str, str], now: datetime, report: ImportReport,
               default_source: str) -> Iterator[dict[str, Any]]:
    with open_input(path, "a .jsonl file", mode="rb") as fh:
        for number, raw_line in enumerate(fh, start=1):
            if number == 1:
                raw_line = raw_line.removeprefix(b"\xef\xbb\xbf")
            if not raw_line.strip():
                continue
            report.lines += 1
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as exc:
                report.bad_lines.append((number, f"not UTF-8 ({exc.reason} at byte {exc.start}); "
                                                 "re-export the file as UTF-8"))
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                report.bad_lines.append((number, f"not JSON: {exc.msg}"))
                continue
            if not isinstance(rec, dict):
                report.bad_lines.append((number, f"a JSON {type(rec).__name__}, not an object"))
                continue
            get = {ours: rec.get(mapping.get(ours, ours)) for ours in FIELDS}
            if not (get["text"] or get["title"]):
                report.bad_lines.append((number, "no text or title"))
                continue
            raw_time = get["published_at"]
            parsed = parse_cn_time(str(raw_time), now) if raw_time not in (None, "") else None
            if raw_time not in (None, "") and parsed is None:
                report.bad_lines.append((number, f"unreadable published_at {raw_time!r}"))
                continue
            yield {
                "platform": get["platform"] or "internal",
                "source": get["source"] or default_source,
                "platform_id": str(get["id"]) if get["id"] is not None else None,
                "url": get["url"], "title": get["title"], "text": get["text"], "author": get["author"],
                "published_at": parsed.value.isoformat() if parsed else None,
                "published_precision": parsed.precision if parsed else None,
                "crawled_at": now.isoformat(),
            }


def parse_mapping(items: list[str]) -> dict[str, str]:
    """``["text=content", ...]`` → ``{"text": "content"}``; names the bad item otherwise."""
    mapping = {}
    for item in items:
        ours, sep, theirs = item.partition("=")
        if not sep or not ours or not theirs:
            raise YuqingError(f"--map {item!r}: use OURS=THEIRS, e.g. --map text=content")
        if ours not in FIELDS:
            raise YuqingError(f"--map {item!r}: {ours!r} is not one of our fields: {', '.join(FIELDS)}")
        mapping[ours] = theirs
    return mapping


def import_jsonl(path: Path, processor: Processor, store: Store, now: datetime,
                 mapping: dict[str, str] | None = None, batch_size: int = 256,
                 wrap: Callable[[Iterable[dict[str, Any]]], Iterable[dict[str, Any]]] | None = None) -> ImportReport:
    """``wrap`` wraps the stream of read posts (the CLI's progress bar)."""
    report = ImportReport()
    book = StoryBook(processor.settings, store)
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        posts = processor.process(batch, report.batch)
        result = store_batch(posts, store, book)
        report.written.inserted += result.inserted
        report.written.updated += result.updated
        batch.clear()

    raws: Iterable[dict[str, Any]] = read_jsonl(path, mapping or {}, now, report, default_source=path.stem)
    for raw in wrap(raws) if wrap else raws:
        batch.append(raw)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return report
