"""``yuqing report``: the period report (舆情报告) an analyst forwards to leaders.

One scheme, one period (Beijing days): summary numbers and negative share, a daily
timeline chart by sentiment, the sentiment breakdown, the most-reached posts with links,
sources and platforms, the alerts raised in the period, top keywords, and an empty
研判与建议 section for the analyst's judgement. ``report_data`` gathers everything from
the store (counts and terms are aggregated by the store, posts are the top few only);
``render_html`` and ``pipeline.report_pdf.render_pdf`` only lay it out, so the HTML and the
PDF always say the same thing.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from alerts.chart import timeline_chart
from pipeline.config import Settings, platform_zh
from pipeline.frame import LABELS, LABELS_ZH
from pipeline.store import PostFilter, Store
from pipeline.stories import RUMOUR_ZH, VERIFICATION_ZH
from pipeline.timeutil import fmt_local, parse_utc

DAY = timedelta(days=1)
TOP_POSTS = 10
TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
LEVELS_ZH = {"spike": "负面激增", "share": "负面占比", "sensitive": "敏感信息", "reminder": "持续偏高"}


def _pct(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "—"


def _coverage_note(missing: list[datetime]) -> str:
    if not missing:
        return ""
    listed = "、".join(f"{d:%m-%d}" for d in missing[:10]) + ("等" if len(missing) > 10 else "")
    return f"另有 {len(missing)} 天（{listed}）库中无任何采集数据（采集可能中断），不计入日均，趋势表中记为“—”。"


def report_data(settings: Settings, store: Store, scheme_id: str, start: datetime, end: datetime,
                now: datetime | None = None) -> dict[str, Any]:
    """Everything the report shows, as plain values (and the chart as PNG bytes)."""
    tz = settings.tz
    scheme = settings.scheme(scheme_id)
    flt = PostFilter(scheme=scheme.id, start=start, end=end)
    daily = store.histogram(flt, window=DAY, tz=tz, by="label")
    first_day = datetime(start.astimezone(tz).year, start.astimezone(tz).month, start.astimezone(tz).day, tzinfo=tz)
    days = []
    t = first_day
    while t < end:
        days.append(t)
        t = (t.replace(tzinfo=None) + DAY).replace(tzinfo=tz)
    per_label = {label: [daily.get((d, label), 0) for d in days] for label in LABELS}
    # A day on which the store holds no post at all (any scheme) was not collected (the service
    # was down, a source failed): its 0 is not a quiet day and must not read as one.
    collected = {d for (d, _), n in store.histogram(PostFilter(start=start, end=end), window=DAY, tz=tz).items()
                 if n}
    missing = [d for d in days if d not in collected]
    by_label = {label: sum(v) for label, v in per_label.items()}
    total = sum(by_label.values())
    negative_per_day = per_label["negative"]
    peak = max(range(len(days)), key=lambda i: negative_per_day[i]) if days and total else None

    top = []
    for p in store.iter_posts(flt, order="reach", limit=TOP_POSTS):
        label = (p.get("sentiment") or {}).get("label")
        top.append({
            "title": p.get("title") or "", "text": _snippet(p.get("text") or p.get("title") or "", 120),
            "url": p.get("url"), "source": p.get("source") or "", "platform": p.get("platform") or "",
            "author": p.get("author") or "", "reach": int(p.get("reach") or sum((p.get("engagement") or {}).values())),
            "label": LABELS_ZH.get(label, "—"), "negative": label == "negative",
            "when": fmt_local(parse_utc(p["published_at"]), tz) if p.get("published_at") else "时间未知",
        })

    stories = [{
        "title": _snippet(st.get("title") or "", 60), "url": st.get("first_url"),
        "source": st.get("first_source") or "",
        "when": fmt_local(parse_utc(st["first_published_at"]), tz) if st.get("first_published_at") else "时间未知",
        "size": st.get("size", 1), "negative": st.get("negative", 0), "n_sources": len(st.get("sources") or []),
        "verification": VERIFICATION_ZH.get(st.get("verification") or "", "—"),
        "flag": (f"{RUMOUR_ZH[st['rumour']]}：{st.get('rumour_reason') or ''}" if st.get("rumour") else ""),
        "category": st.get("category") or "其他",
    } for st in store.find_stories(scheme=scheme.id, start=start, end=end, order="reach", limit=TOP_POSTS)]

    negative = PostFilter(scheme=scheme.id, start=start, end=end, label="negative")
    neg_sources = dict(store.term_counts(negative, field="source", size=1000))
    neg_platforms = dict(store.term_counts(negative, field="platform", size=1000))
    sources = [{"name": name, "posts": n, "negative": neg_sources.get(name, 0),
                "share": _pct(neg_sources.get(name, 0), n)}
               for name, n in store.term_counts(flt, field="source", size=15)]
    platforms = [{"name": platform_zh(name), "posts": n, "negative": neg_platforms.get(name, 0),
                  "share": _pct(neg_platforms.get(name, 0), n)}
                 for name, n in store.term_counts(flt, field="platform", size=15)]
    alerts = [{"window": f"{fmt_local(a.window_start, tz)} 至 {fmt_local(a.window_end, tz)}",
               "kind": LEVELS_ZH.get(a.kind, a.kind), "level": a.payload.get("level") or "—", "count": a.count,
               "baseline": f"{a.baseline:.1f}", "why": a.why, "status": a.status}
              for a in store.alerts() if a.scheme_id == scheme.id and start <= a.window_start < end]

    title = f"舆情报告：{scheme.name}"
    chart = timeline_chart(days, per_label, "每日信息量与情感分布（北京时间）") if days else b""
    last_day = (end - timedelta(seconds=1)).astimezone(tz)
    return {
        "title": title, "scheme": {"id": scheme.id, "name": scheme.name},
        "period": f"{start.astimezone(tz):%Y-%m-%d} 至 {last_day:%Y-%m-%d}",
        "period_exact": f"{fmt_local(start, tz)} — {fmt_local(end, tz)}",
        "generated": fmt_local(now or datetime.now(UTC), tz),
        "total": total, "by_label": by_label,
        "shares": {label: _pct(n, total) for label, n in by_label.items()},
        "days": len(days),
        "daily_average": f"{total / (len(days) - len(missing)):.1f}" if len(days) > len(missing) else "0",
        "coverage_note": _coverage_note(missing),
        "peak": ({"day": f"{days[peak]:%Y-%m-%d}", "negative": negative_per_day[peak],
                  "total": sum(per_label[label][peak] for label in LABELS)} if peak is not None else None),
        "timeline": [{"day": f"{d:%Y-%m-%d}", "collected": d not in missing,
                      **{label: per_label[label][i] for label in LABELS}} for i, d in enumerate(days)],
        "chart_png": chart,
        "top_posts": top, "stories": stories, "sources": sources, "platforms": platforms, "alerts": alerts,
        "keywords": store.term_counts(flt, field="keywords", size=20),
        "negative_keywords": store.term_counts(negative, field="keywords", size=20),
        "labels_zh": LABELS_ZH,
    }


def _snippet(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "…"


def render_html(data: dict[str, Any]) -> str:
    """A self-contained page (the chart inline as a data URI), fit to forward or print."""
    chart = base64.b64encode(data["chart_png"]).decode("ascii") if data["chart_png"] else ""
    return _env.get_template("report.html.j2").render(d=data, chart=chart)


def write_report(settings: Settings, store: Store, scheme_id: str, start: datetime, end: datetime,
                 folder: Path, now: datetime | None = None) -> dict[str, Path]:
    """report-SCHEME-YYYYMMDD-YYYYMMDD.{html,pdf,png} in ``folder``; returns the paths."""
    from pipeline.report_pdf import render_pdf

    data = report_data(settings, store, scheme_id, start, end, now)
    folder.mkdir(parents=True, exist_ok=True)
    last_day = (end - timedelta(seconds=1)).astimezone(settings.tz)
    stem = f"report-{scheme_id}-{start.astimezone(settings.tz):%Y%m%d}-{last_day:%Y%m%d}"
    paths = {"html": folder / f"{stem}.html", "pdf": folder / f"{stem}.pdf", "png": folder / f"{stem}.png"}
    paths["html"].write_text(render_html(data), encoding="utf-8")
    paths["pdf"].write_bytes(render_pdf(data))
    paths["png"].write_bytes(data["chart_png"])
    return paths
