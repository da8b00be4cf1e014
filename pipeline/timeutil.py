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


def parse_when(value: object, tz: ZoneInfo, *, end: bool = False) -> datetime:
    """A time an analyst typed (``2024-05-01``, ``2024-05-01 08:00``, an ISO string, a
    ``date``/``datetime``/``pandas.Timestamp``) as an aware datetime. Values without a zone
    are local time in ``tz`` (B17), never UTC. With ``end=True`` a bare date means the end of
    that day, so ``--since 2024-05-01 --until 2024-05-07`` covers seven whole days."""
    from datetime import date

    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        parsed, bare_date = value, False
    elif isinstance(value, date):
        parsed, bare_date = datetime(value.year, value.month, value.day), True
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not a date or time; use YYYY-MM-DD, 'YYYY-MM-DD HH:MM' "
                             "or ISO 8601") from None
        bare_date = len(text) == 10
    else:
        raise TypeError(f"{value!r} is not a date or time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    if end and bare_date:
        parsed += timedelta(days=1)
    return parsed
