"""Window arithmetic in the analysts' time zone (Asia/Shanghai by default).

Windows are aligned in local wall time: a one-day window starts at local midnight,
a one-hour window on the hour. Stores bucket with these functions (or with the same
rule server-side), so every store gives the same buckets (field report B17).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_EPOCH = datetime(1970, 1, 1)


def window_start(ts: datetime, window: timedelta, tz: ZoneInfo) -> datetime:
    """Start (aware, in ``tz``) of the window that contains ``ts``."""
    local = ts.astimezone(tz).replace(tzinfo=None)
    n = (local - _EPOCH) // window
    return (_EPOCH + n * window).replace(tzinfo=tz)


def parse_utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def fmt_local(ts: datetime, tz: ZoneInfo) -> str:
    """How analysts see a time: ``2024-05-01 00:30 (UTC+8)``."""
    local = ts.astimezone(tz)
    offset = local.utcoffset() or timedelta()
    hours = offset.total_seconds() / 3600
    zone = f"UTC{'+' if hours >= 0 else '-'}{abs(hours):g}"
    return f"{local:%Y-%m-%d %H:%M} ({zone})"
