"""Field report B5: relative and odd publish-time formats, parsed against an injected now."""

from datetime import datetime, timedelta, timezone

import pytest

from crawlers.dates import SHANGHAI, parse_cn_time

NOW = datetime(2025, 1, 1, 0, 10, tzinfo=SHANGHAI)
CST = timezone(timedelta(hours=8))


@pytest.mark.parametrize(("text", "expected", "precision"), [
    ("刚刚", datetime(2025, 1, 1, 0, 10, tzinfo=CST), "minute"),
    ("5分钟前", datetime(2025, 1, 1, 0, 5, tzinfo=CST), "minute"),
    ("2小时前", datetime(2024, 12, 31, 22, 10, tzinfo=CST), "minute"),
    ("昨天 23:30", datetime(2024, 12, 31, 23, 30, tzinfo=CST), "minute"),
    ("今天 00:01", datetime(2025, 1, 1, 0, 1, tzinfo=CST), "minute"),
    ("12-31 08:00", datetime(2024, 12, 31, 8, 0, tzinfo=CST), "minute"),
    ("2021-02-18 00:39:00", datetime(2021, 2, 18, 0, 39, tzinfo=CST), "second"),
    ("Fri Jan 15 08:36:13 +0800 2021", datetime(2021, 1, 15, 8, 36, 13, tzinfo=CST), "second"),
    ("2024年5月1日", datetime(2024, 5, 1, tzinfo=CST), "day"),
    ("2024-09-29", datetime(2024, 9, 29, tzinfo=CST), "day"),
    ("Mon, 20 May 2024 12:58:15 GMT", datetime(2024, 5, 20, 20, 58, 15, tzinfo=CST), "second"),
    ("2024-05-20T20:58:15+08:00", datetime(2024, 5, 20, 20, 58, 15, tzinfo=CST), "second"),
    ("2024-05-01T00:30:00Z", datetime(2024, 5, 1, 8, 30, tzinfo=CST), "second"),
])
def test_b5_formats(text: str, expected: datetime, precision: str) -> None:
    parsed = parse_cn_time(text, NOW)
    assert parsed is not None
    assert parsed.value == expected
    assert parsed.value.utcoffset() is not None
    assert parsed.precision == precision


@pytest.mark.parametrize("text", ["", None, "不是时间", "13-45", "2024-13-01", "yesterday"])
def test_unreadable_times_are_none_not_errors(text: str | None) -> None:
    assert parse_cn_time(text, NOW) is None


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_cn_time("刚刚", datetime(2025, 1, 1))
