"""Weibo mobile-API shapes: response validation, mblog → PostItem, mid/bid conversion.

Pure functions, so the field reports (B2, B4, B5) are tested without a network. The
spider in ``crawlers/spiders/weibo.py`` only wires them to requests.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from crawlers.dates import parse_cn_time
from crawlers.items import PostItem
from pipeline.errors import SourceError

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOGIN_MARKERS = ("sina visitor system", "passport.weibo", "登录", "login", "安全验证", "captcha")
_FULLTEXT = re.compile(r"<a[^>]*>\s*全文\s*</a>\s*$|\.\.\.全文$|…全文$")


def bid_to_mid(bid: str) -> str:
    """Weibo's base62 ``bid`` (e.g. ``KCLs3xyzA``) → numeric ``mid``; groups of 4 from the right."""
    groups = []
    end = len(bid)
    while end > 0:
        start = max(0, end - 4)
        value = 0
        for ch in bid[start:end]:
            value = value * 62 + _ALPHABET.index(ch)
        groups.append(str(value).zfill(7) if start > 0 else str(value))
        end = start
    return "".join(reversed(groups)).lstrip("0") or "0"


def normalise_post_ref(ref: str) -> str:
    """A mid, a bid, or a weibo.com / m.weibo.cn URL → the numeric mid (field report B2 d)."""
    ref = ref.strip().rstrip("/")
    tail = re.split(r"[/?#]", ref.split("://", 1)[-1])
    candidate = next((p for p in reversed(tail[1:] if "://" in ref else tail) if p), ref)
    if candidate.isdigit():
        return candidate
    if re.fullmatch(r"[0-9A-Za-z]{8,10}", candidate):
        return bid_to_mid(candidate)
    raise ValueError(f"not a Weibo post id, bid or URL: {ref!r}")


def decode_api(body: bytes, url: str, source: str) -> dict[str, Any]:
    """The ``data`` object of a mobile-API answer, or a typed SourceError saying why not."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        raise SourceError("EMPTY_BODY", source, f"empty body from {url}")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        head = text[:2000].lower()
        kind = "LOGIN_REQUIRED" if any(m in head for m in _LOGIN_MARKERS) else "SCHEMA_CHANGED"
        raise SourceError(kind, source, f"HTML or non-JSON body where JSON was expected from {url}") from None
    if not isinstance(doc, dict):
        raise SourceError("SCHEMA_CHANGED", source, f"JSON {type(doc).__name__} instead of an object from {url}")
    if doc.get("ok") != 1:
        msg = str(doc.get("msg") or doc.get("errno") or "no message")
        if "没有内容" in msg or "未找到" in msg:
            return {"cards": []}
        kind = "RATE_LIMITED" if "频繁" in msg else "API_ERROR"
        raise SourceError(kind, source, f"ok={doc.get('ok')!r} errno={doc.get('errno')!r} msg={msg!r} from {url}")
    data = doc.get("data")
    if not isinstance(data, dict):
        raise SourceError("SCHEMA_CHANGED", source, f"no `data` object in the answer from {url}")
    return data


def cards_mblogs(data: dict[str, Any], url: str, source: str) -> list[dict[str, Any]]:
    """The mblogs of a search / timeline page; SCHEMA_CHANGED when ``cards`` is missing."""
    cards = data.get("cards")
    if not isinstance(cards, list):
        raise SourceError("SCHEMA_CHANGED", source, f"`data.cards` missing from {url}")
    out = []
    for card in cards:
        if not isinstance(card, dict):
            continue
        if isinstance(card.get("mblog"), dict):
            out.append(card["mblog"])
        for sub in card.get("card_group") or []:
            if isinstance(sub, dict) and isinstance(sub.get("mblog"), dict):
                out.append(sub["mblog"])
    return out


# Weibo's ``user.verified_type``: 1 is a government account (政务), 3 a media outlet; the
# other blue-V kinds (enterprise, campus, website…) and personal V accounts keep the
# platform's default tier, since they are neither official nor mainstream news.
VERIFIED_TIERS = {1: "official", 3: "mainstream"}


def is_truncated(mblog: dict[str, Any]) -> bool:
    return bool(mblog.get("isLongText")) or bool(_FULLTEXT.search(mblog.get("text") or ""))


def mblog_item(mblog: dict[str, Any], *, source: str, now: datetime, detail_url: str) -> PostItem:
    """One mblog → PostItem; a repost keeps the original's id in ``repost_of`` and its text after ours."""
    raw_time = mblog.get("created_at")
    parsed = parse_cn_time(raw_time, now)
    user = mblog.get("user") or {}
    text = mblog.get("text") or ""
    retweeted = mblog.get("retweeted_status")
    repost_of = None
    if isinstance(retweeted, dict):
        repost_of = str(retweeted.get("mid") or retweeted.get("id") or "") or None
        if retweeted.get("text"):
            text = f"{text}//转发原文：{retweeted['text']}"
    return PostItem(
        platform="weibo",
        source=source,
        platform_id=str(mblog.get("mid") or mblog.get("id")),
        url=detail_url,
        text=_FULLTEXT.sub("", text),
        author=user.get("screen_name"),
        published_at=parsed.value if parsed else None,
        published_precision=parsed.precision if parsed else None,
        raw_published=raw_time,
        crawled_at=now,
        engagement={k: _count(mblog.get(f"{k}_count")) for k in ("reposts", "comments", "attitudes")},
        text_truncated=is_truncated(mblog),
        repost_of=repost_of,
        tier=VERIFIED_TIERS.get(user.get("verified_type")) if user.get("verified") is not False else None,
    )


def _count(value: Any) -> int:
    """Weibo writes big counts as '1.2万' or '100万+'."""
    if isinstance(value, int):
        return value
    s = str(value or "0").rstrip("+")
    try:
        if s.endswith("万"):
            return int(float(s[:-1]) * 10_000)
        if s.endswith("亿"):
            return int(float(s[:-1]) * 100_000_000)
        return int(float(s))
    except ValueError:
        return 0


def is_pinned(mblog: dict[str, Any]) -> bool:
    """置顶 posts sit on top of a timeline whatever their age (field report B7)."""
    return mblog.get("mblogtype") == 2 or bool(mblog.get("isTop")) or "置顶" in str(
        (mblog.get("title") or {}).get("text", ""))


def select_new(mblogs: list[dict[str, Any]], since: datetime | None, now: datetime,
               stop_after: int = 1) -> tuple[list[dict[str, Any]], bool]:
    """The mblogs newer than ``since``, and whether paging should stop.

    Pinned posts never count toward stopping; paging stops once ``stop_after``
    consecutive non-pinned posts are older than ``since``.
    """
    if since is None:
        return list(mblogs), False
    kept, older = [], 0
    for mblog in mblogs:
        parsed = parse_cn_time(mblog.get("created_at"), now)
        if is_pinned(mblog):
            if parsed and parsed.value >= since:
                kept.append(mblog)
            continue
        if parsed is None or parsed.value >= since:
            kept.append(mblog)
            older = 0
            continue
        older += 1
        if older >= stop_after:
            return kept, True
    return kept, False


def long_text(data: dict[str, Any]) -> str | None:
    content = data.get("longTextContent")
    return content if isinstance(content, str) and content.strip() else None

