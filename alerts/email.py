"""Alert e-mails: Chinese subject and body, HTML + plain text, the chart inline.

Headers go through ``email.headerregistry`` so Chinese subjects and display names are
RFC 2047 encoded (field report B21); bodies are UTF-8.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape

from alerts.chart import spike_chart
from pipeline.config import Settings
from pipeline.store import AlertRecord
from pipeline.timeutil import fmt_local, parse_utc

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                   trim_blocks=False, keep_trailing_newline=True)


def alert_subject(record: AlertRecord) -> str:
    name = record.payload.get("scheme_name", record.scheme_id)
    level = record.payload.get("level")
    tag = f"·{level}" if level else ""
    if record.kind == "share":
        return f"【舆情预警·占比】{name}：负面占比升至 {record.count}%（基线 {record.baseline:.0f}%）"
    if record.kind == "sensitive":
        return f"【舆情预警·敏感】{name}：敏感负面信息（{'、'.join(record.payload.get('sensitive', []))}）"
    unit = "个事件" if record.payload.get("unit") == "stories" else "条"
    if record.kind == "reminder":
        return f"【舆情提醒{tag}】{name}：负面信息持续偏高（{record.count} {unit}，基线 {record.baseline:.1f}）"
    escalated = "（升级）" if record.payload.get("escalated_from") else ""
    return f"【舆情预警{tag}】{name}：负面信息激增{escalated}（{record.count} {unit}，基线 {record.baseline:.1f}）"


def kibana_link(record: AlertRecord, settings: Settings) -> str | None:
    """The 舆情总览 dashboard, filtered to the scheme and the alert's window."""
    base = settings.app.kibana_url
    if not base:
        return None
    start = record.window_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = record.window_end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = quote(f'schemes : "{record.scheme_id}" and sentiment.label : "negative"', safe="")
    return (f"{base.rstrip('/')}/app/dashboards#/view/yuqing-overview?_g=(time:(from:'{start}',to:'{end}'))"
            f"&_a=(query:(language:kuery,query:'{query}'))")


def recipients_for(record: AlertRecord, settings: Settings) -> list[str]:
    seen: dict[str, None] = {}
    for r in [*record.payload.get("recipients", []), *settings.app.recipients]:
        seen.setdefault(r, None)
    return list(seen)


def compose(record: AlertRecord, settings: Settings, *, with_chart: bool = True) -> EmailMessage:
    tz = settings.tz
    posts = [{**p, "when": fmt_local(parse_utc(p["published_at"]), tz) if p.get("published_at") else "时间未知"}
             for p in record.payload.get("top_stories") or record.payload.get("top_posts", [])]
    series = [{**s, "label": fmt_local(datetime.fromisoformat(s["start"]), tz)}
              for s in record.payload.get("series", [])]
    chart_cid = make_msgid(domain="yuqing.local")[1:-1] if with_chart and series else None
    context: dict[str, Any] = {
        "a": record, "p": record.payload, "scheme": record.payload.get("scheme_name", record.scheme_id),
        "window_from": fmt_local(record.window_start, tz), "window_to": fmt_local(record.window_end, tz),
        "posts": posts, "stories": "top_stories" in record.payload, "series": series,
        "unit": "个事件" if record.payload.get("unit") == "stories" else "条",
        "chart_cid": chart_cid, "kibana": kibana_link(record, settings),
        "title": alert_subject(record).split("（")[0],
    }
    msg = EmailMessage()
    msg["Subject"] = alert_subject(record)
    msg["From"] = settings.app.smtp.sender
    to = recipients_for(record, settings)
    if to:
        msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=hashlib.sha1(record.key.encode()).hexdigest()[:16], domain="yuqing.local")
    msg["X-Yuqing-Alert-Key"] = record.key
    msg.set_content(_env.get_template("spike.txt.j2").render(context), charset="utf-8")
    msg.add_alternative(_env.get_template("spike.html.j2").render(context), subtype="html", charset="utf-8")
    if chart_cid:
        html_part = msg.get_payload()[1]
        html_part.add_related(spike_chart(record.payload["series"], tz), maintype="image", subtype="png",
                              cid=f"<{chart_cid}>", filename="trend.png")
    return msg
