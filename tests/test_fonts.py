"""The bundled CJK font: small, TrueType, covers everyday Chinese; charts draw with it (B22)."""

from __future__ import annotations

import io
import warnings
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fontTools.ttLib import TTFont
from PIL import Image

from alerts.chart import spike_chart, timeline_chart
from pipeline.fonts import FONT_PATH, PS_NAME, covered, use_cjk_font

TZ = ZoneInfo("Asia/Shanghai")


def test_font_is_a_small_truetype_subset_with_its_licence() -> None:
    assert FONT_PATH.stat().st_size < 4 * 2**20
    font = TTFont(str(FONT_PATH))
    assert "glyf" in font and "CFF " not in font  # embeddable by matplotlib (type 42) and reportlab
    assert font["name"].getDebugName(6) == PS_NAME
    assert font["OS/2"].fsType == 0  # installable embedding
    assert (FONT_PATH.parent / "OFL.txt").read_text(encoding="utf-8").count("SIL OPEN FONT LICENSE Version 1.1")
    assert (FONT_PATH.parent / "PROVENANCE.md").is_file()
    for text in ("负面舆情趋势研判与建议", "供水服务停水爆管", "，。、；：？！“”《》（）…—·", "ABCxyz0123%"):
        assert all(ord(ch) in covered() for ch in text), text


def test_matplotlib_finds_the_bundled_font() -> None:
    from matplotlib import font_manager

    family = use_cjk_font()
    assert font_manager.findfont(family, fallback_to_default=False) == str(FONT_PATH)


def _not_blank(png: bytes) -> None:
    img = Image.open(io.BytesIO(png)).convert("L")
    lo, hi = img.getextrema()
    assert hi - lo > 100


def test_charts_draw_chinese_without_missing_glyphs() -> None:
    start = datetime(2024, 5, 1, tzinfo=TZ)
    series = [{"start": (start + timedelta(days=i)).isoformat(), "total": 10 + i, "negative": i} for i in range(7)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)" for boxes
        _not_blank(spike_chart(series, TZ))
        days = [start + timedelta(days=i) for i in range(5)]
        _not_blank(timeline_chart(days, {"negative": [1, 2, 3, 4, 5], "neutral": [5, 4, 3, 2, 1]}, "负面舆情趋势"))
