"""Alert e-mail composition: RFC 2047 headers (B21), HTML + text, the chart, Beijing time."""

from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from pathlib import Path

from alerts.email import compose
from pipeline.config import load_settings
from pipeline.store import AlertRecord
from pipeline.timeutil import fmt_local
from tests.conftest import write_config

SCHEMES = "schemes:\n  - {id: co, name: 某公司, any: [某公司], recipients: ['负责人 <boss@example.invalid>']}\n"


def record(tz) -> AlertRecord:
    start = datetime(2024, 5, 1, tzinfo=tz)
    series = [{"start": (start - timedelta(days=13 - i)).isoformat(), "negative": i % 3, "total": 5}
              for i in range(14)]
    return AlertRecord(
        key="co:spike:2024-05-01", scheme_id="co", kind="spike", window_start=start,
        window_end=start + timedelta(days=1), count=42, baseline=3.0, threshold=9.0, why="负面 42 条 ≥ 阈值 9.0",
        payload={"scheme_name": "某公司", "recipients": ["负责人 <boss@example.invalid>"], "series": series,
                 "total_in_window": 50, "negative_share": 0.84, "top_terms": [["退款", 12]],
                 "by_source": [["weibo", 30]], "top_posts": [{
                     "title": None, "text": "某门店拒绝退款😡", "url": "https://example.invalid/1", "source": "weibo",
                     "published_at": "2024-04-30T16:30:00Z", "reach": 120, "score": 0.97}]},
    )


def test_b21_chinese_subject_and_sender_survive_rfc2047(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES, smtp_port=2525))
    raw = compose(record(settings.tz), settings).as_bytes()
    assert all(b < 128 for b in raw.split(b"\n\n", 1)[0]), "headers must be 7-bit (RFC 2047 encoded)"
    msg = message_from_bytes(raw, policy=policy.default)
    assert str(make_header(decode_header(msg["Subject"]))).startswith("【舆情预警】某公司：负面信息激增")
    assert msg["From"].addresses[0].display_name == "舆情监测"
    assert msg["From"].addresses[0].addr_spec == "alerts@example.invalid"
    assert {a.addr_spec for a in msg["To"].addresses} == {"boss@example.invalid", "duty@example.invalid"}
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "负面信息：42 条（基线 3.0 条，阈值 9.0 条）" in text
    assert "2024-05-01 00:30 (UTC+8)" in text  # the post, shown in Beijing time (B17)
    assert "某门店拒绝退款😡" in text
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "cid:" in html and "某公司" in html
    png = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert png and png[0].get_content().startswith(b"\x89PNG")


def test_kibana_link_is_filtered_to_the_window(tmp_path: Path) -> None:
    extra = "kibana_url: http://kibana.example.invalid:5601\n"
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES, extra=extra))
    msg = compose(record(settings.tz), settings, with_chart=False)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert ("http://kibana.example.invalid:5601/app/dashboards#/view/yuqing-overview?_g=(time:(from:"
            "'2024-04-30T16:00:00Z',to:'2024-05-01T16:00:00Z'))") in text
    assert "schemes%20%3A%20%22co%22" in text


def test_fmt_local() -> None:
    from zoneinfo import ZoneInfo
    assert fmt_local(datetime.fromisoformat("2024-04-30T16:30:00+00:00"), ZoneInfo("Asia/Shanghai")) == \
        "2024-05-01 00:30 (UTC+8)"
