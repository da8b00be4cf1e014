"""``yuqing report``: the 舆情报告 as HTML and as a PDF with the CJK font embedded and rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.ingest import store_batch
from pipeline.report import render_html, report_data
from pipeline.store import AlertRecord
from pipeline.store.sqlite import SQLiteStore
from pipeline.stories import StoryBook
from tests.conftest import write_config

TZ = ZoneInfo("Asia/Shanghai")
SCHEMES = "schemes:\n  - {id: water, name: 供水服务, any: [停水]}\n  - {id: other, name: 其他, any: [其他]}\n"


def _post(i: int, day: int, label: str, source: str, reach: int, scheme: str = "water") -> dict:
    when = datetime(2024, 5, day, 9, tzinfo=TZ) + timedelta(minutes=i)
    return {"id": f"p{day}-{i}-{scheme}", "platform": "weibo" if source == "微博" else "news", "source": source,
            "url": f"https://example.com/{day}/{i}?a=1&b=2", "title": None,
            "text": f"小区停水第{day}天，居民投诉无人处理{i}", "author": "用户",
            "published_at": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "crawled_at": None,
            "engagement": {"reposts": reach}, "tokens": "小区 停水 居民 投诉",
            "keywords": ["停水", "投诉"] if label == "negative" else ["停水", "通知"],
            "sentiment": {"label": label, "score": 0.9}, "schemes": [scheme]}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    cfg = write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES)
    store = SQLiteStore(tmp_path / "yuqing.db")
    posts = []
    for day in range(1, 8):
        negatives = 9 if day == 5 else 1
        posts += [_post(i, day, "negative", "微博", reach=10 * i + day) for i in range(negatives)]
        posts += [_post(100 + i, day, "neutral", "本地新闻网", reach=1) for i in range(2)]
    posts.append(_post(1, 6, "positive", "微博", reach=500))
    posts.append(_post(1, 5, "negative", "微博", reach=9999, scheme="other"))  # another scheme: not counted
    posts.append(_post(1, 9, "negative", "微博", reach=9999))  # after the period
    store_batch(posts, store, StoryBook(load_settings(cfg), store))  # copies of one complaint form a story
    start = datetime(2024, 5, 5, tzinfo=TZ)
    store.claim_alert(AlertRecord(key="water:spike:0505", scheme_id="water", kind="spike", window_start=start,
                                  window_end=start + timedelta(days=1), count=9, baseline=1.0, threshold=5.0,
                                  why="负面 9 条，基线 1.0，阈值 5.0",
                                  payload={"level": "较大", "scheme_name": "供水服务"}))
    store.close()
    return cfg


def test_report_numbers(config: Path) -> None:
    settings = load_settings(config)
    store = SQLiteStore(config.parent.parent / "yuqing.db")
    d = report_data(settings, store, "water", datetime(2024, 5, 1, tzinfo=TZ), datetime(2024, 5, 8, tzinfo=TZ),
                    now=datetime(2024, 5, 8, 1, tzinfo=UTC))
    store.close()
    assert (d["total"], d["by_label"]) == (30, {"negative": 15, "neutral": 14, "positive": 1})
    assert d["shares"]["negative"] == "50.0%"
    assert d["peak"] == {"day": "2024-05-05", "negative": 9, "total": 11}
    assert [t["day"] for t in d["timeline"]] == [f"2024-05-0{i}" for i in range(1, 8)]
    assert d["top_posts"][0]["reach"] == 500 and d["top_posts"][0]["when"] == "2024-05-06 09:01 (UTC+8)"
    assert len(d["top_posts"]) == 10
    assert d["sources"] == [{"name": "微博", "posts": 16, "negative": 15, "share": "93.8%"},
                            {"name": "本地新闻网", "posts": 14, "negative": 0, "share": "0.0%"}]
    assert [p["name"] for p in d["platforms"]] == ["微博", "新闻网站"]  # analysts' names, not weibo/news
    assert [a["level"] for a in d["alerts"]] == ["较大"]
    assert d["alerts"][0]["window"] == "2024-05-05 00:00 (UTC+8) 至 2024-05-06 00:00 (UTC+8)"
    assert d["negative_keywords"][:2] == [("停水", 15), ("投诉", 15)]
    assert d["period"] == "2024-05-01 至 2024-05-07" and d["generated"] == "2024-05-08 09:00 (UTC+8)"
    # the near-identical complaints are two stories (within the 14-day window), biggest first
    assert [(st["size"], st["negative"], st["verification"]) for st in d["stories"]] == [
        (19, 7, "仅社交媒体"), (13, 10, "仅社交媒体")]
    assert d["stories"][1]["flag"].startswith("未经证实：仅社交媒体来源，6 小时内 11 条")


def test_a_day_with_nothing_collected_is_not_reported_as_zero(config: Path) -> None:
    settings = load_settings(config)
    store = SQLiteStore(config.parent.parent / "yuqing.db")
    d = report_data(settings, store, "water", datetime(2024, 5, 1, tzinfo=TZ), datetime(2024, 5, 9, tzinfo=TZ))
    other = report_data(settings, store, "other", datetime(2024, 5, 1, tzinfo=TZ), datetime(2024, 5, 8, tzinfo=TZ))
    store.close()
    assert [t["collected"] for t in d["timeline"]] == [True] * 7 + [False]  # 05-08: the store holds nothing
    assert d["daily_average"] == f"{30 / 7:.1f}"  # over the seven collected days, not eight
    assert "另有 1 天（05-08）库中无任何采集数据" in d["coverage_note"]
    # a scheme with no post on a day the store did collect has a real 0
    assert all(t["collected"] for t in other["timeline"]) and other["coverage_note"] == ""
    assert other["timeline"][0]["negative"] == 0
    html = render_html(d)
    assert "<td>2024-05-08</td><td class=\"n\" colspan=\"4\">—（无采集数据）</td>" in html
    assert "另有 1 天（05-08）" in html


def test_report_html_and_pdf(config: Path, tmp_path: Path, capsys) -> None:
    import pypdfium2
    from pypdf import PdfReader

    out = tmp_path / "reports"
    assert main(["--config", str(config), "report", "--scheme", "water", "--since", "2024-05-01",
                 "--until", "2024-05-07", "-o", str(out)]) == 0
    html = (out / "report-water-20240501-20240507.html").read_text(encoding="utf-8")
    for text in ("舆情报告：供水服务", "负面占比 <b class=\"neg\">50.0%</b>", "二、负面舆情趋势", "八、研判与建议",
                 "data:image/png;base64,", "https://example.com/6/1?a=1&amp;b=2", "较大", "重点事件", "⚠ 未经证实"):
        assert text in html, text
    pdf_path = out / "report-water-20240501-20240507.pdf"
    reader = PdfReader(pdf_path)
    text = "".join(page.extract_text() for page in reader.pages)
    for phrase in ("舆情报告：供水服务", "负面舆情趋势", "研判与建议", "本地新闻网", "2024-05-05 00:00 (UTC+8)",
                   "重点事件", "未经证实"):
        assert phrase in text, phrase
    assert "Spacer(" not in text  # the analyst's box is empty, not a printed Python object
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants[0].get_object() if descendants else font
            descriptor = described.get("/FontDescriptor")
            fonts[str(font["/BaseFont"])] = descriptor.get_object() if descriptor else None
    cjk = {name: desc for name, desc in fonts.items() if "YuqingNotoSansSC" in name}
    assert cjk, fonts
    assert all(desc is not None and "/FontFile2" in desc for desc in cjk.values())  # embedded TrueType
    pdf = pypdfium2.PdfDocument(str(pdf_path))
    try:
        image = pdf[0].render(scale=1).to_pil().convert("L")
    finally:
        pdf.close()
    histogram = image.histogram()
    dark = sum(histogram[:128])
    assert dark > 0.01 * image.width * image.height  # text and chart, not a blank page
    assert (out / "report-water-20240501-20240507.png").read_bytes().startswith(b"\x89PNG")
    assert "report-water-20240501-20240507.pdf" in capsys.readouterr().out


def test_report_errors(config: Path, tmp_path: Path, capsys) -> None:
    args = ["--config", str(config), "report", "--since", "2024-05-01", "--until", "2024-05-07", "-o", str(tmp_path)]
    assert main([*args, "--scheme", "nope"]) == 2
    assert "no scheme 'nope'" in capsys.readouterr().err
    assert main(["--config", str(config), "report", "--scheme", "water", "--since", "2024-05-07",
                 "--until", "2024-05-01"]) == 2
    assert "not after" in capsys.readouterr().err


def test_report_to_a_place_it_cannot_write_is_an_error(config: Path, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x", encoding="utf-8")
    args = ["--config", str(config), "report", "--scheme", "water", "--since", "2024-05-01", "--until", "2024-05-07"]
    assert main([*args, "-o", str(blocker)]) == 2
    assert f"-o {blocker}: cannot write the report there" in capsys.readouterr().err
