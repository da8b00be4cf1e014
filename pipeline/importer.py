"""``yuqing import FILE.jsonl``: exports from internal channels into the Processor.

Each line is one JSON object. A field mapping renames the export's keys to ours
(text, title, url, author, published_at, platform, source, id); a mapped name may be a
dotted path into nested objects (``user.name``). The mapping, the time format and the
zone of naive times can be named once per channel in sources.yaml (``spider: jsonl``)
and used with ``yuqing import --source NAME``. A bad line (not JSON, no text, an
unreadable time) is reported with its line number and skipped; the good lines are imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from crawlers.dates import ParsedTime, is_future, parse_cn_time
from pipeline.config import JSONL_FIELDS as FIELDS
from pipeline.config import Source
from pipeline.errors import YuqingError, open_input
from pipeline.ingest import store_batch
from pipeline.processor import BatchReport, Processor
from pipeline.store import Store, WriteResult
from pipeline.stories import StoryBook


@dataclass(frozen=True)
class ImportSpec:
    """How to read one channel's export: our field → their name or dotted path, and its times."""

    mapping: dict[str, str] = field(default_factory=dict)
    time_format: str | None = None  # strptime format; None: any form parse_cn_time reads, or epoch numbers
    zone: tzinfo | None = None  # for naive times (default: the ``now`` passed in, i.e. Asia/Shanghai)
    platform: str | None = None
    source: str | None = None

    @classmethod
    def for_source(cls, source: Source) -> ImportSpec:
        return cls(dict(source.mapping), source.time_format, ZoneInfo(source.time_zone) if source.time_zone else None,
                   source.platform, source.name)


def _lookup(rec: dict[str, Any], path: str) -> Any:
    """``rec["a"]["b"]`` for ``a.b``; a key that itself contains dots wins over the path."""
    if path in rec:
        return rec[path]
    value: Any = rec
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def parse_time(raw: Any, spec: ImportSpec, now: datetime) -> ParsedTime | None:
    """An export's time: epoch seconds/milliseconds, the spec's strptime format, or any known form."""
    zone = spec.zone or now.tzinfo
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        seconds = raw / 1000 if raw > 1e11 else raw
        return ParsedTime(datetime.fromtimestamp(seconds, UTC).astimezone(zone), "second")
    text = str(raw).strip()
    if spec.time_format:
        try:
            value = datetime.strptime(text, spec.time_format)
        except ValueError:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        has_time = any(d in spec.time_format for d in ("%H", "%I", "%M", "%S", "%X", "%c"))
        return ParsedTime(value, ("second" if "%S" in spec.time_format else "minute") if has_time else "day")
    return parse_cn_time(text, now.astimezone(zone))


@dataclass
class ImportReport:
    lines: int = 0
    encoding: str = "utf-8"
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    batch: BatchReport = field(default_factory=BatchReport)
    written: WriteResult = field(default_factory=WriteResult)


SNIFF_BYTES = 1 << 20


def sniff_encoding(head: bytes) -> str:
    """UTF-8 unless the file's first MiB is not UTF-8 but is GB18030 (exports from Chinese Windows
    tools). Decided once per file: line by line, a GBK line that happens to be valid UTF-8 (停水通知
    is) would be stored as mojibake."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    for cut in range(4):  # the sniffed block may end inside a multi-byte character
        try:
            head[: len(head) - cut].decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:
                break
    try:
        head.decode("gb18030")
    except UnicodeDecodeError:
        return "utf-8"  # neither: every bad line is reported as not UTF-8
    return "gb18030"


def read_jsonl(path: Path, spec: ImportSpec, now: datetime, report: ImportReport,
               default_source: str) -> Iterator[dict[str, Any]]:
    with open_input(path, "a .jsonl file", mode="rb") as fh:
        report.encoding = sniff_encoding(fh.read(SNIFF_BYTES))
        fh.seek(0)
        for number, raw_line in enumerate(fh, start=1):
            if number == 1:
                raw_line = raw_line.removeprefix(b"\xef\xbb\xbf")
            if not raw_line.strip():
                continue
            report.lines += 1
            try:
                line = raw_line.decode(report.encoding)
            except UnicodeDecodeError as exc:
                report.bad_lines.append((number, f"not {report.encoding.upper()} ({exc.reason} at byte {exc.start}); "
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
            get = {ours: _lookup(rec, spec.mapping.get(ours, ours)) for ours in FIELDS}
            if not (get["text"] or get["title"]):
                fields = ", ".join(list(rec)[:8]) or "none"
                report.bad_lines.append((number, f"no text or title (fields: {fields}; "
                                                 "map one with --map text=FIELD)"))
                continue
            raw_time = get["published_at"]
            parsed = parse_time(raw_time, spec, now) if raw_time not in (None, "") else None
            if raw_time not in (None, "") and parsed is None:
                hint = f" (expected {spec.time_format})" if spec.time_format else ""
                report.bad_lines.append((number, f"unreadable published_at {raw_time!r}{hint}"))
                continue
            if parsed is not None and is_future(parsed, now):  # as crawled pages (B6): a wrong clock, a typo
                report.bad_lines.append((number, f"published_at {raw_time!r} is in the future"))
                continue
            if any(not isinstance(get[k] or "", str) for k in ("text", "title", "author")):
                report.bad_lines.append((number, "text, title or author is not a string (check the mapping)"))
                continue
            yield {
                "platform": get["platform"] or spec.platform or "internal",
                "source": spec.source or get["source"] or default_source,
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
                 mapping: dict[str, str] | ImportSpec | None = None, batch_size: int = 256,
                 wrap: Callable[[Iterable[dict[str, Any]]], Iterable[dict[str, Any]]] | None = None) -> ImportReport:
    """Import one export; ``mapping`` is a plain field mapping (``--map``) or a channel's spec.

    ``wrap`` wraps the stream of read posts (the CLI's progress bar).
    """
    spec = mapping if isinstance(mapping, ImportSpec) else ImportSpec(mapping or {})
    report = ImportReport()
    book = StoryBook(processor.settings, store)
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        posts = processor.process(batch, report.batch)
        result = store_batch(posts, store, book)
        report.written.inserted += result.inserted
        report.written.updated += result.updated
        batch.clear()

    raws: Iterable[dict[str, Any]] = read_jsonl(path, spec, now, report, default_source=path.stem)
    for raw in wrap(raws) if wrap else raws:
        batch.append(raw)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return report
