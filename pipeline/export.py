"""``yuqing export``: matching posts as CSV, XLSX or JSON Lines for analysts.

- CSV is ``utf-8-sig`` (a BOM), so Excel opens Chinese and emoji correctly and
  ``pandas.read_csv(path, encoding="utf-8-sig")`` gives every character back (B10).
- XLSX has Chinese headers, real date cells in Beijing time (Excel has no time zones, so
  the header says 北京时间), text cells that are never read as formulas, and a frozen
  header row. Excel's cell limit (32,767 characters) cuts the longest articles, marked.
- JSON Lines keeps the machine names and ISO times with their ``+08:00`` offset.

Only stored fields are written: text was redacted by the Processor (phones, ID numbers,
e-mails…) before it reached the store, and nothing raw exists to re-expose. Posts stream
from the store in batches, so an export of a year costs a batch of memory, not a year.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipeline.config import platform_zh
from pipeline.errors import YuqingError
from pipeline.frame import LABELS_ZH, posts_frame
from pipeline.store import Post, PostFilter, Store

FORMATS = ("csv", "xlsx", "jsonl")
CHUNK = 2000
XLSX_CELL_MAX = 32_767
# DataFrame column → analyst-facing header, in export order.
HEADERS = {
    "id": "编号", "published_at": "发布时间（北京时间）", "platform": "平台", "source": "来源", "author": "作者",
    "title": "标题", "text": "正文", "url": "链接", "sentiment": "情感倾向", "sentiment_score": "情感置信度",
    "reposts": "转发", "comments": "评论", "likes": "点赞", "views": "阅读", "reach": "传播量",
    "keywords": "关键词", "schemes": "监测方案", "crawled_at": "采集时间（北京时间）",
}
_WIDTHS = {"id": 18, "published_at": 18, "title": 30, "text": 60, "url": 30, "keywords": 24, "schemes": 16,
           "crawled_at": 18}


@dataclass
class ExportResult:
    rows: int
    seconds: float
    path: Path | None
    cut_cells: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def table(df: pd.DataFrame, scheme_names: dict[str, str] | None = None) -> pd.DataFrame:
    """The analysts' table: Chinese headers and labels, lists joined with 、, naive Beijing times."""
    names = scheme_names or {}
    out = pd.DataFrame({col: df[col] for col in HEADERS})
    for col in ("published_at", "crawled_at"):
        out[col] = out[col].dt.tz_localize(None)  # already Beijing time: the header says so
    out["sentiment"] = out["sentiment"].map(LABELS_ZH).astype("object")
    out["platform"] = out["platform"].astype("object").map(platform_zh)
    out["source"] = out["source"].astype("object")
    out["keywords"] = ["、".join(v) for v in out["keywords"]]
    out["schemes"] = ["、".join(names.get(s, s) for s in v) for v in out["schemes"]]
    return out.rename(columns=HEADERS)


def _jsonl_rows(df: pd.DataFrame) -> Iterator[dict[str, Any]]:
    for rec in df.to_dict("records"):
        yield {
            "id": rec["id"], "published_at": _iso(rec["published_at"]), "platform": rec["platform"],
            "source": rec["source"], "author": rec["author"], "title": rec["title"], "text": rec["text"],
            "url": rec["url"], "sentiment": {"label": _none(rec["sentiment"]), "score": _none(rec["sentiment_score"])},
            "engagement": {k: int(rec[k]) for k in ("reposts", "comments", "likes", "views")},
            "reach": int(rec["reach"]), "keywords": rec["keywords"], "schemes": rec["schemes"],
            "crawled_at": _iso(rec["crawled_at"]),
        }


def _iso(ts: Any) -> str | None:
    return None if pd.isna(ts) else ts.isoformat()


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def _chunks(posts: Iterable[Post], tz: ZoneInfo) -> Iterator[pd.DataFrame]:
    batch: list[Post] = []
    yielded = False
    for post in posts:
        batch.append(post)
        if len(batch) >= CHUNK:
            yield posts_frame(batch, tz)
            batch, yielded = [], True
    if batch or not yielded:  # an empty export still gets its header row
        yield posts_frame(batch, tz)


def export_posts(store: Store, flt: PostFilter, fmt: str, out: Path | None, *, tz: ZoneInfo,
                 scheme_names: dict[str, str] | None = None, wrap=None) -> ExportResult:
    """Write the posts ``flt`` selects to ``out`` (``None``: stdout, text formats only).

    ``wrap`` wraps the stream of posts (the CLI's progress bar)."""
    if fmt not in FORMATS:
        raise YuqingError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    if out is None and fmt == "xlsx":
        raise YuqingError("xlsx cannot go to the terminal; give -o FILE.xlsx")
    started = time.perf_counter()
    posts: Iterable[Post] = store.iter_posts(flt, order="oldest")
    if wrap:
        posts = wrap(posts)
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise YuqingError(f"{out}: cannot create its folder: {exc.strerror}") from None
    rows, cut = 0, 0
    try:
        if fmt == "xlsx":
            rows, cut = _write_xlsx(_chunks(posts, tz), out, scheme_names)
        else:
            with _text_out(out, "utf-8-sig" if fmt == "csv" else "utf-8") as fh:
                for i, df in enumerate(_chunks(posts, tz)):
                    rows += len(df)
                    if fmt == "csv":
                        table(df, scheme_names).to_csv(fh, index=False, header=i == 0,
                                                       date_format="%Y-%m-%d %H:%M:%S")
                    else:
                        for rec in _jsonl_rows(df):
                            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise YuqingError(f"{out or 'stdout'}: cannot write: {exc.strerror or exc}") from None
    return ExportResult(rows, time.perf_counter() - started, out, cut)


class _text_out:  # noqa: N801 - a context manager used like open()
    """A text file, or stdout re-encoded (the BOM only for CSV), closed only if we opened it."""

    def __init__(self, path: Path | None, encoding: str) -> None:
        self.path, self.encoding = path, encoding

    def __enter__(self) -> IO[str]:
        if self.path is None:
            self.fh = io.TextIOWrapper(sys.stdout.buffer, encoding=self.encoding, newline="", write_through=True)
        else:
            self.fh = self.path.open("w", encoding=self.encoding, newline="")
        return self.fh

    def __exit__(self, *exc: object) -> None:
        if self.path is None:
            self.fh.flush()
            self.fh.detach()
        else:
            self.fh.close()


def _write_xlsx(chunks: Iterable[pd.DataFrame], out: Path, scheme_names: dict[str, str] | None) -> tuple[int, int]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("舆情数据")
    columns = list(HEADERS)
    for i, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(col, 10)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in HEADERS.values():
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    rows = cut = 0
    for df in chunks:
        for rec in table(df, scheme_names).itertuples(index=False, name=None):
            row = []
            for col, value in zip(columns, rec, strict=True):
                if isinstance(value, pd.Timestamp):
                    cell = WriteOnlyCell(ws, value=None if pd.isna(value) else value.to_pydatetime())
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(value, str):
                    text = ILLEGAL_CHARACTERS_RE.sub("", value)
                    if len(text) > XLSX_CELL_MAX:
                        text, cut = text[:XLSX_CELL_MAX - 8] + "…（已截断）", cut + 1
                    cell = WriteOnlyCell(ws, value=text)
                    cell.data_type = "s"  # "=…" in a post is text, never a formula
                elif value is None or (isinstance(value, float) and pd.isna(value)):
                    cell = WriteOnlyCell(ws, value=None)
                else:
                    cell = WriteOnlyCell(ws, value=value)
                    if col == "sentiment_score":
                        cell.number_format = "0.000"
                row.append(cell)
            ws.append(row)
            rows += 1
    wb.save(out)
    return rows, cut
