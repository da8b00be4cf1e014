"""IM webhooks: DingTalk (signed), WeCom and Feishu group robots.

Each channel has a byte budget for one message, measured in UTF-8 bytes (field report
B20): a longer alert is split into numbered parts ``(1/3)``…, never inside a character,
preferring line breaks. Webhook URLs carry tokens, so they (and signing secrets) come
from environment variables named in the config. A channel that answers with an error
code raises NotifyError with that code; the caller logs it and records it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from alerts.email import kibana_link
from pipeline.config import Settings, WebhookConfig
from pipeline.errors import NotifyError
from pipeline.store import AlertRecord
from pipeline.timeutil import fmt_local, parse_utc

log = logging.getLogger(__name__)
LIMITS = {"dingtalk": 20_000, "wecom": 4_096, "feishu": 30_000}  # bytes of the message text


def split_utf8(text: str, limit: int) -> list[str]:
    """Parts of at most ``limit`` UTF-8 bytes each, numbered ``(i/n)`` when there are several.

    The parts without their numbering concatenate to ``text``.
    """
    if len(text.encode("utf-8")) <= limit:
        return [text]
    marker_budget = len(b"(999/999)\n")
    budget = limit - marker_budget
    if budget < 16:
        raise ValueError(f"limit {limit} is too small to split into numbered parts")
    chunks: list[str] = []
    rest = text
    while rest:
        if len(rest.encode("utf-8")) <= budget:
            chunks.append(rest)
            break
        cut = len(rest.encode("utf-8")[:budget].decode("utf-8", errors="ignore"))  # whole characters only
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline + 1
        chunks.append(rest[:cut])
        rest = rest[cut:]
    n = len(chunks)
    return [f"({i}/{n})\n{chunk}" for i, chunk in enumerate(chunks, start=1)]


def strip_marker(part: str) -> str:
    return part.split("\n", 1)[1] if part.startswith("(") and ")\n" in part[:12] else part


def render_markdown(record: AlertRecord, settings: Settings) -> str:
    p, tz = record.payload, settings.tz
    lines = [f"### 【舆情预警】{p.get('scheme_name', record.scheme_id)}：负面信息激增",
             f"- 统计窗口：{fmt_local(record.window_start, tz)} 至 {fmt_local(record.window_end, tz)}",
             f"- 负面信息：**{record.count} {'个事件' if p.get('unit') == 'stories' else '条'}**"
             f"（基线 {record.baseline:.1f}，阈值 {record.threshold:.1f}）",
             f"- 判定依据：{record.why}"]
    if p.get("top_terms"):
        lines.append("- 主要话题词：" + "、".join(f"{t}（{n}）" for t, n in p["top_terms"]))
    items = p.get("top_stories") or p.get("top_posts")
    if items:
        lines.append("")
        lines.append("**重点负面事件**" if p.get("top_stories") else "**重点负面信息**")
        for i, post in enumerate(items, start=1):
            when = fmt_local(parse_utc(post["published_at"]), tz) if post.get("published_at") else "时间未知"
            link = f" [原文]({post['url']})" if post.get("url") else ""
            tags = "".join(f"【{t}】" for t in (post.get("verification"), post.get("rumour")) if t)
            copies = f"（{post['copies']} 转载）" if post.get("copies") else ""
            head = post.get("title") or post.get("text") or ""
            lines.append(f"{i}. {when} {post.get('source') or ''}{copies}{tags}：{head}{link}")
    link = kibana_link(record, settings)
    if link:
        lines.append(f"\n[在 Kibana 中查看]({link})")
    return "\n".join(lines)


class Webhook:
    """One configured channel; ``send`` posts every part and checks each answer."""

    def __init__(self, config: WebhookConfig, timeout: float = 10.0, retries: int = 3) -> None:
        self.config = config
        self.timeout = timeout
        self.retries = retries

    def payloads(self, title: str, text: str) -> list[dict[str, Any]]:
        parts = split_utf8(text, LIMITS[self.config.kind])
        kind = self.config.kind
        if kind == "dingtalk":
            return [{"msgtype": "markdown", "markdown": {"title": title, "text": part}} for part in parts]
        if kind == "wecom":
            return [{"msgtype": "markdown", "markdown": {"content": part}} for part in parts]
        return [{"msg_type": "text", "content": {"text": part}} for part in parts]

    def _signed(self, url: str, body: dict[str, Any], now: float) -> tuple[str, dict[str, Any]]:
        secret = self.config.secret()
        if not secret:
            return url, body
        if self.config.kind == "dingtalk":
            ts = str(int(now * 1000))
            digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
            sign = urllib.parse.quote_plus(base64.b64encode(digest))
            return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}", body
        if self.config.kind == "feishu":
            ts = str(int(now))
            digest = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()
            return url, {"timestamp": ts, "sign": base64.b64encode(digest).decode(), **body}
        return url, body

    def send(self, title: str, text: str, now: float | None = None) -> int:
        url = self.config.url()
        if not url:
            raise NotifyError(f"webhook {self.config.name}: ${self.config.url_env} is empty")
        sent = 0
        for body in self.payloads(title, text):
            target, signed = self._signed(url, body, now or time.time())
            self._post(target, signed)
            sent += 1
        return sent

    def _post(self, url: str, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        last: Exception | None = None
        for attempt in range(self.retries):
            req = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    answer = json.loads(resp.read().decode("utf-8") or "{}")
                code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
                if code in (0, None):
                    return
                raise NotifyError(f"webhook {self.config.name}: error code {code}: "
                                  f"{answer.get('errmsg') or answer.get('msg')}")
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = exc
                time.sleep(min(2 ** attempt, 8) * 0.1)
        raise NotifyError(f"webhook {self.config.name}: unreachable after {self.retries} tries: {last}")
