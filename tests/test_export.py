"""``yuqing export``: B10 round trip through the real Processor, XLSX cells, JSON Lines, errors."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.processor import Processor
from pipeline.progress import progress
from pipeline.store.sqlite import SQLiteStore
from tests.conftest import run_yuqing, write_config

SCHEMES = "schemes:\n  - {id: shop, name: 门店服务, any: [门店, 退款, 投诉]}\n"
TZ = ZoneInfo("Asia/Shanghai")
B10_RAW = "\ufeff质量太差🔥😡[怒]\u200b，某门店拒绝退款 电话13812345678"
B10_STORED = "质量太差🔥😡[怒]，某门店拒绝退款 电话<PHONE>"


@pytest.fixture(scope="module")
def processor(tmp_path_factory: pytest.TempPathFactory) -> Processor:
    tmp = tmp_path_factory.mktemp("proc")
    return Processor(load_settings(write_config(tmp, sources="sources: []\n", schemes=SCHEMES)))


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, processor: Processor) -> Path:
    """A store with posts analysed by the real Processor (cleaning, redaction, sentiment, schemes)."""
    tmp = tmp_path_factory.mktemp("export")
    cfg = write_config(tmp, sources="sources: []\n", schemes=SCHEMES)
    raw = [{"platform": "weibo", "source": "微博", "platform_id": "1", "text": B10_RAW, "author": "用户A",
            "published_at": "2024-05-01T08:00:00+08:00", "engagement": {"reposts": 4, "attitudes": 6}},
           {"platform": "rss", "source": "本地新闻", "platform_id": "2", "title": "门店投诉",
            "text": "=HYPERLINK(\"http://x\")门店投诉𠮷野家", "published_at": "2024-05-02T23:59:00+08:00"},
           {"platform": "rss", "source": "本地新闻", "platform_id": "3", "text": "门店退款太慢了",
            "published_at": "2024-05-03T00:00:00+08:00"}]
    store = SQLiteStore(tmp / "yuqing.db")
    store.upsert_posts(processor.process(raw))
    store.close()
    return cfg


def export(config: Path, *args: str) -> int:
    return main(["--config", str(config), "export", *args])


def test_b10_csv_round_trips_emoji_and_chinese_and_stays_redacted(config: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.csv"
    assert export(config, "--scheme", "shop", "--since", "2024-05-01", "--until", "2024-05-02", "-o", str(out)) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    assert b"13812345678" not in raw
    df = pd.read_csv(out, encoding="utf-8-sig")
    assert list(df.columns[:4]) == ["编号", "发布时间（北京时间）", "平台", "来源"]
    assert len(df) == 2  # until 2024-05-02 includes 23:59 that day, not 05-03 00:00
    first = df.iloc[0]
    assert first["正文"] == B10_STORED
    assert (first["发布时间（北京时间）"], first["点赞"], first["转发"], first["监测方案"]) == (
        "2024-05-01 08:00:00", 6, 4, "门店服务")
    assert first["情感倾向"] in {"负面", "中性", "正面"}
    assert first["平台"] == "微博" and df.iloc[1]["平台"] == "RSS订阅"  # analysts' names, not weibo/rss
    assert df.iloc[1]["正文"] == "=HYPERLINK(\"http://x\")门店投诉𠮷野家"
    assert "out.csv: 2 posts (csv)" in capsys.readouterr().err


def test_xlsx_headers_dates_and_text_cells(config: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "out.xlsx"
    assert export(config, "--since", "2024-05-01", "-o", str(out), "-q") == 0  # format from the suffix
    ws = load_workbook(out).active
    header = [c.value for c in ws[1]]
    assert header[:3] == ["编号", "发布时间（北京时间）", "平台"] and "正文" in header
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 3
    published = rows[0][header.index("发布时间（北京时间）")]
    assert published == datetime(2024, 5, 1, 8, 0) and published.tzinfo is None
    formula_like = ws.cell(row=3, column=header.index("正文") + 1)
    assert formula_like.data_type == "s" and formula_like.value.startswith("=HYPERLINK")
    assert pd.read_excel(out)["正文"].iloc[0] == B10_STORED


def test_jsonl_keeps_machine_names_and_offsets(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert export(config, "--since", "2024-05-02 12:00", "--format", "jsonl", "-o", str(out)) == 0
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["published_at"] for r in recs] == ["2024-05-02T23:59:00+08:00", "2024-05-03T00:00:00+08:00"]
    assert recs[0]["schemes"] == ["shop"] and recs[0]["sentiment"]["label"] in {"negative", "neutral", "positive"}
    assert recs[0]["text"] == "=HYPERLINK(\"http://x\")门店投诉𠮷野家"


def test_clear_errors(config: Path, tmp_path: Path, capsys) -> None:
    assert export(config, "--scheme", "nope", "--since", "2024-05-01") == 2
    assert "no scheme 'nope'; known: shop" in capsys.readouterr().err
    assert export(config, "--since", "May 1st") == 2
    assert "not a date" in capsys.readouterr().err
    assert export(config, "--since", "2024-05-03", "--until", "2024-05-01") == 2
    assert "not after" in capsys.readouterr().err
    assert export(config, "--since", "2024-05-01", "--format", "xlsx", "-o", "-") == 2
    assert "xlsx cannot go to the terminal" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        export(config, "--since", "2024-05-01", "--format", "pdf")
    assert "invalid choice: 'pdf'" in capsys.readouterr().err


def test_gbk_console_and_stdout_pipe(config: Path) -> None:
    result = run_yuqing(config, "export", "--since", "2024-05-01", "--format", "csv", "-o", "-",
                        env={"PYTHONIOENCODING": "gbk"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert B10_STORED in result.stdout  # the CSV bytes are UTF-8 whatever the console's encoding
    assert "\r" not in result.stderr  # no progress bar when stderr is not a terminal


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal() -> None:
    tty, pipe = _Tty(), io.StringIO()
    assert list(progress(range(5), total=5, desc="export", stream=tty)) == list(range(5))
    assert "export" in tty.getvalue() and "5/5" in tty.getvalue()
    assert list(progress(range(5), total=5, stream=pipe)) == list(range(5)) and pipe.getvalue() == ""
    quiet = _Tty()
    list(progress(range(5), total=5, stream=quiet, quiet=True))
    assert quiet.getvalue() == ""


def test_import_and_backtest_report_every_item_to_their_progress_bars(processor: Processor, tmp_path: Path) -> None:
    from alerts.backtest import backtest
    from pipeline.importer import import_jsonl

    src = tmp_path / "hotline.jsonl"
    src.write_text("".join(json.dumps({"text": f"门店投诉{i}", "published_at": f"2024-05-{1 + i:02d}T10:00:00+08:00"},
                                      ensure_ascii=False) + "\n" for i in range(7)), encoding="utf-8")
    seen: list = []

    def wrap(items):
        for item in items:
            seen.append(item)
            yield item

    store = SQLiteStore(":memory:")
    report = import_jsonl(src, processor, store, datetime(2024, 6, 1, tzinfo=TZ), wrap=wrap)
    assert len(seen) == report.lines == 7 and store.count_posts() == 7
    seen.clear()
    settings = processor.settings
    result = backtest(settings, store, settings.scheme("shop"), datetime(2024, 5, 1, tzinfo=TZ),
                      datetime(2024, 5, 7, tzinfo=TZ), wrap=wrap)
    assert len(seen) == len(result.results) == 7


def test_crawl_bar_counts_pages_and_items_of_a_real_crawler() -> None:
    import scrapy
    from scrapy import signals
    from scrapy.crawler import Crawler

    from pipeline.progress import CrawlProgress

    tty = _Tty()
    bar = CrawlProgress(stream=tty)
    crawler = Crawler(scrapy.Spider)
    bar.attach(crawler)
    for _ in range(3):
        crawler.signals.send_catch_log(signals.response_received, response=None, request=None, spider=None)
    for _ in range(2):
        crawler.signals.send_catch_log(signals.item_scraped, item={}, response=None, spider=None)
    bar.close()
    assert bar.items == 2 and "3page" in tty.getvalue() and "items=2" in tty.getvalue()
    off = CrawlProgress(stream=io.StringIO())  # not a terminal: no bar, Scrapy logs as usual
    off.attach(crawler)
    assert not off.shown


def test_default_file_name_names_the_days_it_covers(config: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert export(config, "--scheme", "shop", "--since", "2024-05-01", "--until", "2024-05-02") == 0
    assert (tmp_path / "yuqing-shop-20240501-20240502.csv").is_file()  # the inclusive last day, not 05-03
    assert export(config, "--since", "2024-05-01 08:00", "--format", "jsonl") == 0
    assert (tmp_path / "yuqing-all-20240501.jsonl").is_file()
