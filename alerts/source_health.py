"""Source health: a source that stays silent past its ``silence`` is an operator alert.

Silence is never mistaken for calm (field report B3): when a site starts answering with
captchas, login walls or a redesign, the spiders record typed health events and stop
storing posts; this check notices the silence and lists the recorded errors.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from alerts.notify import Notifier
from pipeline.config import Settings
from pipeline.store import AlertRecord, Store
from pipeline.timeutil import fmt_local, parse_utc, window_start

KIND_SOURCE = "source_health"


def check_sources(settings: Settings, store: Store, notifier: Notifier, now: datetime) -> list[AlertRecord]:
    fired = []
    for source in settings.sources:
        if not source.enabled or source.silence is None:
            continue
        last = store.last_crawled(source.name)
        if last is not None and now - last <= source.silence:
            continue
        since = now - source.silence
        errors = [e for e in store.health_events(source.name) if parse_utc(e["at"]) >= since]
        start = window_start(now, source.silence, settings.tz)  # one alert per silence period
        hours = source.silence.total_seconds() / 3600
        kinds = Counter(e["kind"] for e in errors)
        why = (f"来源「{source.name}」已超过 {hours:g} 小时没有新信息"
               + (f"（最近一次入库：{fmt_local(last, settings.tz)}）" if last else "（从未入库）")
               + ("；期间记录的异常：" + "、".join(f"{k} × {n}" for k, n in kinds.most_common()) if kinds else
                  "；期间没有记录到异常，可能是站点无更新或解析失效"))
        record = AlertRecord(
            key=f"source:{source.name}:silent:{start.isoformat()}", scheme_id=f"source:{source.name}",
            kind=KIND_SOURCE, window_start=start, window_end=start + source.silence, count=len(errors),
            baseline=0.0, threshold=hours, why=why,
            payload={"source": source.name, "errors": errors[-5:], "last_crawled": last.isoformat() if last else None})
        if store.claim_alert(record):
            notifier.deliver_message(record, compose_source_alert(settings, record), store)
            fired.append(record)
    return fired


def compose_source_alert(settings: Settings, record: AlertRecord) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"【采集异常】来源「{record.payload['source']}」长时间无新信息"
    msg["From"] = settings.app.smtp.sender
    to = settings.app.operators or settings.app.recipients
    if to:
        msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="yuqing.local")
    lines = [msg["Subject"], "", record.why, ""]
    for e in record.payload["errors"]:
        lines.append(f"- {fmt_local(parse_utc(e['at']), settings.tz)} {e['kind']}：{e['detail']}")
    lines += ["", "请检查该来源的网络、Cookie/登录状态或页面结构是否变化。", "--",
              "本邮件由 yuqing 舆情监测系统自动发送。时间均为北京时间（UTC+8）。"]
    msg.set_content("\n".join(lines), charset="utf-8")
    return msg
