"""Charts as PNG bytes, Chinese labels in the bundled CJK font (B22).

``spike_chart``: negative vs all posts per window, the spike window marked (alert e-mails).
``timeline_chart``: posts per day by sentiment (舆情报告, notebooks). Both draw with
``pipeline.fonts`` so the labels render on a host without any CJK font.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.fonts import use_cjk_font

COLORS = {"negative": "#d9534f", "neutral": "#9aa3ad", "positive": "#4a9d5b"}
LABELS_ZH = {"negative": "负面", "neutral": "中性", "positive": "正面"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    use_cjk_font()
    from matplotlib import pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def spike_chart(series: list[dict[str, Any]], tz: ZoneInfo) -> bytes:
    plt = _pyplot()
    starts = [datetime.fromisoformat(s["start"]).astimezone(tz) for s in series]
    labels = [f"{s:%m-%d}" if s.hour == 0 and s.minute == 0 else f"{s:%m-%d %H:%M}" for s in starts]
    fig, ax = plt.subplots(figsize=(7, 2.8), dpi=100)
    try:
        xs = range(len(series))
        ax.bar(xs, [s["total"] for s in series], color="#d0d4da", width=0.8, label="全部信息")
        ax.bar(xs, [s["negative"] for s in series], color="#d9534f", width=0.55, label="负面信息")
        ax.bar([len(series) - 1], [series[-1]["negative"]], color="#a50f15", width=0.55, hatch="//",
               label="预警窗口")
        ax.set_xticks(list(xs), labels, rotation=45, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("条数（北京时间）", fontsize=7)
        ax.legend(fontsize=7, frameon=False, loc="upper left")
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        return _png(fig)
    finally:
        plt.close(fig)


def timeline_chart(days: list[datetime], counts: dict[str, list[int]], title: str) -> bytes:
    """Stacked bars per day, one colour per sentiment label present in ``counts``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=110)
    try:
        xs = list(range(len(days)))
        bottom = [0] * len(days)
        for label in ("negative", "neutral", "positive"):
            values = counts.get(label)
            if values is None:
                continue
            ax.bar(xs, values, bottom=bottom, color=COLORS[label], width=0.8, label=LABELS_ZH[label])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        step = max(1, len(days) // 15)
        ax.set_xticks(xs[::step], [f"{d:%m-%d}" for d in days][::step], rotation=45, ha="right", fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title(title, fontsize=11)
        ax.set_ylabel("信息量（条/日）", fontsize=8)
        ax.legend(fontsize=8, frameon=False, ncols=3, loc="upper left")
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        return _png(fig)
    finally:
        plt.close(fig)
