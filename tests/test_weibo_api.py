"""Weibo API shapes (field reports B2, B4, B7 parts that need no network)."""

from datetime import datetime

import pytest

from crawlers import weibo
from crawlers.dates import SHANGHAI
from pipeline.errors import SourceError

URL = "http://127.0.0.1/api/container/getIndex"


@pytest.mark.parametrize(("body", "kind"), [
    (b'{"ok":0,"errno":"100007","msg":"<PLACEHOLDER>"}', "API_ERROR"),
    (b"<html><title>Sina Visitor System</title></html>", "LOGIN_REQUIRED"),
    (b"<html><title>\xe5\x87\xba\xe9\x94\x99\xe4\xba\x86</title></html>", "SCHEMA_CHANGED"),
    (b"", "EMPTY_BODY"),
    (b"[1,2]", "SCHEMA_CHANGED"),
    (b'{"ok":0,"msg":"\xe8\xaf\xb7\xe6\xb1\x82\xe8\xbf\x87\xe4\xba\x8e\xe9\xa2\x91\xe7\xb9\x81"}', "RATE_LIMITED"),
])
def test_b2_error_answers_are_typed(body: bytes, kind: str) -> None:
    with pytest.raises(SourceError) as err:
        weibo.decode_api(body, URL, "src")
    assert err.value.kind == kind
    assert err.value.source == "src"


def test_b2_ok_without_cards_is_schema_changed() -> None:
    data = weibo.decode_api(b'{"ok":1,"data":{}}', URL, "src")
    with pytest.raises(SourceError) as err:
        weibo.cards_mblogs(data, URL, "src")
    assert err.value.kind == "SCHEMA_CHANGED"


def test_no_results_is_empty_not_an_error() -> None:
    data = weibo.decode_api('{"ok":0,"msg":"这里还没有内容"}'.encode(), URL, "src")
    assert weibo.cards_mblogs(data, URL, "src") == []


def test_b2_url_and_bid_resolve_to_the_same_mid() -> None:
    mid = weibo.bid_to_mid("Lq6Dx6rIx")
    assert mid.isdigit() and len(mid) == 16
    assert weibo.normalise_post_ref("https://weibo.com/1234567890/Lq6Dx6rIx") == mid
    assert weibo.normalise_post_ref("Lq6Dx6rIx") == mid
    assert weibo.normalise_post_ref("https://m.weibo.cn/detail/4990000000000001") == "4990000000000001"
    with pytest.raises(ValueError, match="not a Weibo post id"):
        weibo.normalise_post_ref("hello world")


def test_b4_truncated_text_is_flagged_and_cleaned() -> None:
    mblog = {"id": "1", "isLongText": True, "created_at": "Fri Jan 15 08:36:13 +0800 2021",
             "text": '某公司回应称…<a href="/status/1">全文</a>', "reposts_count": "1.2万",
             "user": {"screen_name": "u"}}
    item = weibo.mblog_item(mblog, source="s", now=datetime(2025, 1, 1, tzinfo=SHANGHAI), detail_url="u")
    assert item.text_truncated
    assert "全文" not in item.text
    assert item.engagement["reposts"] == 12000
    assert item.published_at == datetime.fromisoformat("2021-01-15T08:36:13+08:00")


def test_card_groups_are_flattened() -> None:
    data = {"cards": [{"card_type": 11, "card_group": [{"mblog": {"id": "1"}}, {"card_type": 4}]},
                      {"mblog": {"id": "2"}}, "junk"]}
    assert [m["id"] for m in weibo.cards_mblogs(data, URL, "s")] == ["1", "2"]


def test_b7_pinned_old_post_does_not_stop_incremental_crawling() -> None:
    page = [{"mblogtype": 2, "created_at": "2023-02-11"}, {"created_at": "2026-01-19"},
            {"created_at": "2026-01-18"}, {"created_at": "2026-01-10"}, {"created_at": "2026-01-15"}]
    now = datetime(2026, 1, 20, 12, tzinfo=SHANGHAI)
    kept, stop = weibo.select_new(page, datetime(2026, 1, 12, tzinfo=SHANGHAI), now)
    assert [m["created_at"] for m in kept] == ["2026-01-19", "2026-01-18"]
    assert stop  # at the 4th item, the first non-pinned post older than `since`
    assert weibo.select_new(page, None, now) == (page, False)
