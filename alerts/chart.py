"""The alert chart: negative vs all posts per window, the spike window marked.

The PNG carries only dates and numbers, so it renders the same on a host with no CJK
font; the e-mail text says in Chinese what the colours mean.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


def spike_chart(series: list[dict[str, Any]], tz: ZoneInfo) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    starts = [datetime.fromisoformat(s["start"]).astimezone(tz) for s in series]
    labels = [f"{s:%m-%d}" if s.hour == 0 and s.minute == 0 else f"{s:%m-%d %H:%M}" for s in starts]
    fig, ax = plt.subplots(figsize=(7, 2.8), dpi=100)
    try:
        xs = range(len(series))
        ax.bar(xs, [s["total"] for s in series], color="#d0d4da", width=0.8)
        ax.bar(xs, [s["negative"] for s in series], color="#d9534f", width=0.55)
        ax.bar([len(series) - 1], [series[-1]["negative"]], color="#a50f15", width=0.55, hatch="//")
        ax.set_xticks(list(xs), labels, rotation=45, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
