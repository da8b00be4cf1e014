"""Internal channels (jsonl): a named mapping per channel in sources.yaml, used by
``yuqing import --source NAME``; dotted paths, time format and zone; bad lines reported
with their line numbers, good lines imported."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawlers.dates import SHANGHAI
from pipeline.config import load_settings
from pipeline.errors import ConfigError
from pipeline.importer import ImportSpec, _lookup, parse_time
from tests.conftest import run_yuqing, write_config

NOW = datetime(2024, 5, 4, 12, tzinfo=SHANGHAI)


def test_dotted_paths_and_time_forms() -> None:
    rec = {"ticket": {"no": "RX-1", "tags": ["停水", "投诉"]}, "a.b": 1}
    assert _lookup(rec, "ticket.no") == "RX-1" and _lookup(rec, "ticket.tags.1") == "投诉"
    assert _lookup(rec, "a.b") == 1 and _lookup(rec, "ticket.missing") is None
    spec = ImportSpec(time_format="%Y/%m/%d %H:%M", zone=ZoneInfo("Asia/Shanghai"))
    parsed = parse_time("2024/05/03 09:15", spec, NOW)
    assert parsed.value.isoformat() == "2024-05-03T09:15:00+08:00" and parsed.precision == "minute"
    assert parse_time("2024/05/03", ImportSpec(time_format="%Y/%m/%d"), NOW).precision == "day"
    assert parse_time("03.05.2024", spec, NOW) is None
    epoch_ms = parse_time(1714698900000, ImportSpec(), NOW)  # 2024-05-03T01:15Z
    assert epoch_ms.value.isoformat() == "2024-05-03T09:15:00+08:00"
    utc_export = parse_time("2024-05-03 01:15", ImportSpec(zone=ZoneInfo("UTC")), NOW)
    assert utc_export.value.astimezone(SHANGHAI).hour == 9


@pytest.mark.parametrize(("source", "fragment"), [
    ("{name: h, spider: jsonl}", "a jsonl source needs `path`"),
    ("{name: h, spider: jsonl, path: x.jsonl, mapping: {body: content}}", "mapping names \\['body'\\]"),
    ("{name: h, spider: jsonl, path: x.jsonl, time_zone: Beijing}", "unknown time zone 'Beijing'"),
    ("{name: h, spider: jsonl, path: x.jsonl, urls: ['https://x.invalid/'], keywords: [a]}", "keywords do not"),
    ("{name: h, spider: news}", "a news source needs `urls`"),
])
def test_jsonl_sources_are_validated(tmp_path: Path, source: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_settings(write_config(tmp_path, sources=f"sources:\n  - {source}\n", schemes="schemes: []\n"))


@pytest.mark.slow
def test_import_with_the_channel_mapping_from_config(tmp_path: Path) -> None:
    export = tmp_path / "hotline.jsonl"
    lines = [
        {"ticket": {"no": "RX-001"}, "content": "城东小区停水两天，无人处理，要求尽快恢复供水。",
         "caller": {"district": "城东"}, "created": "2024/05/03 09:15"},
        {"ticket": {"no": "RX-002"}, "content": "反映东湖路施工夜间噪声扰民。", "created": "2024/05/03 22:40"},
        "not json at all",
        {"ticket": {"no": "RX-004"}, "created": "2024/05/03 10:00"},
        {"ticket": {"no": "RX-005"}, "content": "水费账单有误。", "created": "昨天下午"},
        {"ticket": {"no": "RX-006"}, "content": "感谢维修师傅及时上门，服务很好。", "created": "2024/05/04 08:05"},
    ]
    export.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines)
                      + "\n", encoding="utf-8")
    config = write_config(tmp_path, schemes="schemes: []\n", sources=f"""\
        sources:
          - name: hotline
            spider: jsonl
            platform: hotline
            path: {export}
            mapping: {{id: ticket.no, text: content, published_at: created}}
            time_format: "%Y/%m/%d %H:%M"
            time_zone: Asia/Shanghai
        """)
    out = run_yuqing(config, "import", "--source", "hotline")
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"{export}: 6 lines, 3 bad, 3 analysed" in out.stdout
    assert f"{export}:3: skipped: not JSON" in out.stderr
    assert f"{export}:4: skipped: no text or title" in out.stderr
    assert f"{export}:5: skipped: unreadable published_at '昨天下午' (expected %Y/%m/%d %H:%M)" in out.stderr
    with sqlite3.connect(tmp_path / "yuqing.db") as conn:
        got = conn.execute("SELECT platform, source, platform_id, published_at FROM posts ORDER BY platform_id")
        assert got.fetchall() == [("hotline", "hotline", "RX-001", "2024-05-03T01:15:00Z"),
                                  ("hotline", "hotline", "RX-002", "2024-05-03T14:40:00Z"),
                                  ("hotline", "hotline", "RX-006", "2024-05-04T00:05:00Z")]
    again = run_yuqing(config, "crawl", "hotline")  # what `yuqing serve` runs on the source's schedule
    assert f"{export}: 6 lines, 3 bad, 3 analysed, 0 new, 3 updated" in again.stdout  # B24: never doubles
    with sqlite3.connect(tmp_path / "yuqing.db") as conn:
        health = conn.execute("SELECT source, kind, detail FROM source_health").fetchall()
    assert health == [("hotline", "MALFORMED", f"3 bad lines in {export}, first: line 3: not JSON: Expecting value")]
    wrong = run_yuqing(config, "import", "--source", "nope")
    assert wrong.returncode != 0 and "no source named 'nope'" in wrong.stderr


def test_gbk_export_is_read_as_gbk_and_future_times_are_refused(tmp_path: Path) -> None:
    """停水通知 in GBK is also valid UTF-8: the file's encoding is decided once, never per line."""
    export = tmp_path / "gbk.jsonl"
    rows = [{"content": "停水通知", "time": "2024-05-03 09:00"},
            {"content": "城东小区停水两天，无人处理。", "time": "2024-05-03 10:00"},
            {"content": "系统时钟错了", "time": "2099-05-05 09:00"}]
    export.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("gbk"))
    config = write_config(tmp_path, schemes="schemes: []\n", sources="sources: []\n")
    out = run_yuqing(config, "import", str(export), "--map", "text=content", "--map", "published_at=time")
    assert "not UTF-8; read as GB18030" in out.stderr
    assert f"{export}:3: skipped: published_at '2099-05-05 09:00' is in the future" in out.stderr
    assert f"{export}: 3 lines, 1 bad, 2 analysed" in out.stdout
    with sqlite3.connect(tmp_path / "yuqing.db") as conn:
        texts = sorted(t for (t,) in conn.execute("SELECT text FROM posts"))
    assert texts == sorted(["城东小区停水两天，无人处理。", "停水通知"])
