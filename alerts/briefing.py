"""The daily briefing (舆情日报): one e-mail a day with every scheme's numbers.

Per scheme: posts and negative posts of the day against the day before, the negative
share, top keywords and the stories with the most negative posts; then stories flagged
未经证实 / 存在辟谣, the alerts raised that day and the sources that reported trouble.
Built from the store only, so it can be re-sent for any past day (``yuqing briefing --date 2024-05-01``).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from alerts.email import _env
from alerts.notify import Notifier
from pipeline.config import Settings
from pipeline.store import AlertRecord, Store
from pipeline.stories import RUMOUR_ZH, VERIFICATION_ZH
from pipeline.timeutil import fmt_local, parse_utc

DAY = timedelta(days=1)
KIND_BRIEFING = "briefing"


def briefing_data(settings: Settings, store: Store, day: date) -> dict[str, Any]:
    tz = settings.tz
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end, before = start + DAY, start - DAY

    def count(scheme: str | None = None, label: str | None = None, frm: datetime = start) -> int:
        return sum(store.window_counts(start=frm, end=frm + DAY, window=DAY, tz=tz, scheme=scheme,
                                       label=label).values())

    # The day before counts only if anything at all was collected then: a store that was empty
    # that day (first day of service, an outage) has no comparison to offer, not a rise from 0.
    collected_before = count(frm=before) > 0
    schemes = []
    for scheme in settings.schemes:
        total, negative = count(scheme.id), count(scheme.id, "negative")
        posts = store.find_posts(scheme=scheme.id, start=start, end=end)
        stories = store.find_stories(scheme=scheme.id, start=start, end=end, order="negative", limit=3)
        schemes.append({
            "id": scheme.id, "name": scheme.name, "total": total, "negative": negative,
            "total_before": count(scheme.id, frm=before) if collected_before else None,
            "negative_before": count(scheme.id, "negative", before) if collected_before else None,
            "share": round(negative / total * 100) if total else None,
            "keywords": [k for k, _ in Counter(k for p in posts for k in set(p.get("keywords") or [])).most_common(8)],
            "stories": len({p.get("cluster") or p["id"] for p in posts}),
            "top": [_story_line(s, tz) for s in stories if s.get("negative")],
        })
    by_label = {label: count(label=label) for label in ("negative", "neutral", "positive")}
    flagged = [_story_line(s, tz) for s in store.find_stories(start=start, end=end, order="recent", limit=50)
               if s.get("rumour")]
    alerts = [a for a in store.alerts() if a.kind != KIND_BRIEFING and start <= a.window_start.astimezone(tz) < end]
    health = Counter((e["source"], e["kind"]) for e in store.health_events()
                     if start <= parse_utc(e["at"]) < end)
    return {"day": day.isoformat(), "total": sum(by_label.values()), "by_label": by_label, "schemes": schemes,
            "flagged": flagged,
            "alerts": [{"scheme": a.payload.get("scheme_name", a.scheme_id), "count": a.count,
                        "unit": "个事件" if a.payload.get("unit") == "stories" else "条",
                        "window": fmt_local(a.window_start, tz), "status": a.status} for a in alerts],
            "health": [{"source": s, "kind": k, "n": n} for (s, k), n in sorted(health.items())]}


def _story_line(story: dict[str, Any], tz: Any) -> dict[str, Any]:
    first = story.get("first_published_at")
    return {"text": story.get("title") or "", "url": story.get("first_url"), "source": story.get("first_source"),
            "when": fmt_local(parse_utc(first), tz) if first else "时间未知", "size": story.get("size", 1),
            "negative": story.get("negative", 0), "verification": VERIFICATION_ZH.get(story.get("verification") or ""),
            "rumour": RUMOUR_ZH.get(story.get("rumour") or ""), "rumour_reason": story.get("rumour_reason")}


def compose_briefing(settings: Settings, data: dict[str, Any]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"【舆情日报】{data['day']}：共 {data['total']} 条，负面 {data['by_label']['negative']} 条"
    msg["From"] = settings.app.smtp.sender
    recipients = list(dict.fromkeys([*settings.app.briefing.recipients, *settings.app.recipients]))
    if recipients:
        msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=f"briefing.{data['day']}", domain="yuqing.local")
    msg.set_content(_env.get_template("briefing.txt.j2").render(d=data), charset="utf-8")
    msg.add_alternative(_env.get_template("briefing.html.j2").render(d=data), subtype="html", charset="utf-8")
    return msg


def send_briefing(settings: Settings, store: Store, notifier: Notifier, day: date, *, force: bool = False) -> str:
    """Compose and deliver the briefing for ``day`` once (claimed in the store like an alert)."""
    data = briefing_data(settings, store, day)
    start = datetime(day.year, day.month, day.day, tzinfo=settings.tz)
    record = AlertRecord(key=f"*:{KIND_BRIEFING}:{day.isoformat()}", scheme_id="*", kind=KIND_BRIEFING,
                         window_start=start, window_end=start + DAY, count=data["total"], baseline=0,
                         threshold=0, why="舆情日报")
    if not store.claim_alert(record) and not force:
        return "already_sent"
    return notifier.deliver_message(record, compose_briefing(settings, data), store)
