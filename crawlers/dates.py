"""Publish times as Chinese sites write them, parsed against an injected ``now``.

Pure functions: the crawl time is passed in (Asia/Shanghai), never read from the
clock, so relative forms (刚刚, 5分钟前, 昨天 12:30, MM-DD) are testable and a date
without a year is placed in the most recent year that is not in the future.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_RELATIVE_UNITS = {"秒": "seconds", "分钟": "minutes", "分": "minutes", "小时": "hours", "天": "days"}


@dataclass(frozen=True)
class ParsedTime:
    """An aware datetime and how much of it the source actually said."""

    value: datetime
    precision: str  # "second" | "minute" | "day"


def _hm(match: re.Match[str], group: int = 1) -> tuple[int, int, int]:
    h, m = int(match.group(group)), int(match.group(group + 1))
    s = match.group(group + 2)
    return h, m, int(s) if s else 0


def _precision(seconds: str | None) -> str:
    return "second" if seconds else "minute"


def _just_now(m: re.Match[str], now: datetime) -> ParsedTime:
    return ParsedTime(now, "minute")


def _ago(m: re.Match[str], now: datetime) -> ParsedTime:
    unit = _RELATIVE_UNITS[m.group(2)]
    return ParsedTime(now - timedelta(**{unit: int(m.group(1))}), "minute" if unit != "days" else "day")


def _day_offset(days: int) -> Callable[[re.Match[str], datetime], ParsedTime]:
    def parse(m: re.Match[str], now: datetime) -> ParsedTime:
        h, mi, s = _hm(m)
        day = (now + timedelta(days=days)).date()
        return ParsedTime(datetime(day.year, day.month, day.day, h, mi, s, tzinfo=now.tzinfo), _precision(m.group(3)))
    return parse


def _clock(m: re.Match[str], now: datetime) -> ParsedTime:
    """A bare "12:30" (Tieba, forum lists): today, or yesterday when today's would be in the future."""
    h, mi, s = _hm(m)
    value = now.replace(hour=h, minute=mi, second=s, microsecond=0)
    if value > now + timedelta(minutes=5):
        value -= timedelta(days=1)
    return ParsedTime(value, _precision(m.group(3)))


def _month_day(m: re.Match[str], now: datetime) -> ParsedTime:
    month, day = int(m.group(1)), int(m.group(2))
    h, mi, s = (int(m.group(3)), int(m.group(4)), int(m.group(5) or 0)) if m.group(3) else (0, 0, 0)
    value = datetime(now.year, month, day, h, mi, s, tzinfo=now.tzinfo)
    if value > now + timedelta(days=1):  # "12-31" read on Jan 1 is last year's
        value = value.replace(year=now.year - 1)
    return ParsedTime(value, _precision(m.group(5)) if m.group(3) else "day")


def _full_date(m: re.Match[str], now: datetime) -> ParsedTime:
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if m.group(4):
        h, mi, s = int(m.group(4)), int(m.group(5)), int(m.group(6) or 0)
        tz = _offset(m.group(7)) or now.tzinfo
        return ParsedTime(datetime(y, mo, d, h, mi, s, tzinfo=tz), _precision(m.group(6)))
    return ParsedTime(datetime(y, mo, d, tzinfo=now.tzinfo), "day")


def _weibo_api(m: re.Match[str], now: datetime) -> ParsedTime:
    # "Fri Jan 15 08:36:13 +0800 2021": locale-independent, unlike strptime's %a/%b.
    month = _MONTHS[m.group(1).lower()]
    tz = _offset(m.group(6))
    value = datetime(int(m.group(7)), month, int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)),
                     tzinfo=tz)
    return ParsedTime(value, "second")


def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    if text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-").replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))


_TIME = r"\s*(\d{1,2}):(\d{2})(?::(\d{2}))?"
# Each row: pattern anchored on the whole (stripped) string, and its parser.
_FORMATS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], datetime], ParsedTime]], ...] = (
    (re.compile(r"刚刚|刚才"), _just_now),
    (re.compile(r"(\d+)\s*(秒|分钟|分|小时|天)前"), _ago),
    (re.compile(r"今天" + _TIME), _day_offset(0)),
    (re.compile(r"昨天" + _TIME), _day_offset(-1)),
    (re.compile(r"前天" + _TIME), _day_offset(-2)),
    (re.compile(r"[A-Za-z]{3}\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+([+-]\d{4})\s+(\d{4})"),
     _weibo_api),
    (re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                r"(?:[T\s]*(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?)?"), _full_date),
    (re.compile(r"(\d{1,2})\s*[-/月]\s*(\d{1,2})\s*日?(?:" + _TIME + ")?"), _month_day),
    (re.compile(_TIME.strip().removeprefix(r"\s*")), _clock),
)


def parse_cn_time(text: str | None, now: datetime) -> ParsedTime | None:
    """Parse a publish time; None when the text is not a time we understand.

    ``now`` must be timezone-aware; relative forms are resolved in its zone.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not text:
        return None
    s = " ".join(text.split())
    for pattern, parse in _FORMATS:
        m = pattern.fullmatch(s)
        if m:
            try:
                return parse(m, now)
            except (ValueError, KeyError):
                return None
    try:  # RFC 822 (RSS pubDate) and its many variants
        value = parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=now.tzinfo)
    return ParsedTime(value, "second")


def now_shanghai() -> datetime:
    return datetime.now(SHANGHAI)


# -- publish dates of articles (field report B6) -------------------------------------------
# Dates in article URLs, most specific first: /2024/05/03/, /2024-05-03/, /2024/0503/
# (people.com.cn), /20240503/ or a file name starting with (t)20240503 (xinhuanet, gov sites).
_URL_DATES = (
    re.compile(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:/|$|[^\d])"),
    re.compile(r"/((?:19|20)\d{2})/(\d{2})(\d{2})/"),
    re.compile(r"/((?:19|20)\d{2})(\d{2})/(\d{2})/"),
    re.compile(r"(?:[/_-]t?|^)((?:19|20)\d{2})(\d{2})(\d{2})(?=\d{0,8}[/._-]|\d{0,8}$)"),  # gov: t20240503_1
)
MAX_FUTURE_SKEW = timedelta(days=1)


def date_from_url(url: str, now: datetime) -> ParsedTime | None:
    """The day a URL path names, or None; never later than ``now`` + a day."""
    path = url.split("://", 1)[-1].split("?", 1)[0]
    path = path[path.find("/"):] if "/" in path else ""
    for pattern in _URL_DATES:
        for m in pattern.finditer(path):
            try:
                value = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=now.tzinfo)
            except ValueError:
                continue
            if value <= now + MAX_FUTURE_SKEW:
                return ParsedTime(value, "day")
    return None


@dataclass(frozen=True)
class ArticleDates:
    """What an article page says about its dates, and which candidates were refused and why."""

    published: ParsedTime | None
    published_from: str | None  # "meta …", "json-ld", "visible", "selector", "url", "list", "modified"
    modified: ParsedTime | None
    rejected: tuple[str, ...] = ()
    published_raw: str | None = None  # the text the publish time was read from


def is_future(parsed: ParsedTime, now: datetime, skew: timedelta = MAX_FUTURE_SKEW) -> bool:
    """Later than ``now`` by more than clock skew (for a date only: a later day)."""
    if parsed.precision == "day":
        return parsed.value.date() > (now + skew).date()
    return parsed.value > now + skew


def choose_dates(published: list[tuple[str, str | ParsedTime]], modified: list[tuple[str, str | ParsedTime]],
                 now: datetime,
                 skew: timedelta = MAX_FUTURE_SKEW) -> ArticleDates:
    """Pick the publish and modified time from ``(origin, raw text)`` candidates, best first.

    Structured metadata comes first in ``published``, then the visible 发布时间 line, the URL
    and the list page, as the caller orders them. A candidate later than ``now + skew`` is
    refused with a reason (a JavaScript string, a wrong CMS clock); the crawl time is never
    used. Only when no publish time is known does the modified time stand in for it.
    """
    rejected: list[str] = []

    def first(candidates: list[tuple[str, str | ParsedTime]]) -> tuple[ParsedTime | None, str | None, str | None]:
        for origin, raw in candidates:
            parsed = raw if isinstance(raw, ParsedTime) else parse_cn_time(raw, now)
            if parsed is None:
                continue
            shown = raw.value.date().isoformat() if isinstance(raw, ParsedTime) else raw
            if is_future(parsed, now, skew):
                rejected.append(f"{origin} {shown!r} is in the future")
                continue
            return parsed, origin, shown
        return None, None, None

    pub, origin, raw_text = first(published)
    mod, _, mod_text = first(modified)
    if pub is None and mod is not None:
        pub, origin, raw_text = mod, "modified", mod_text
    return ArticleDates(pub, origin, mod, tuple(rejected), raw_text)
