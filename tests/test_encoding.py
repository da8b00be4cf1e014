"""Field report B1: GBK / GB2312 pages decode to the original text, never mojibake."""

import codecs

import pytest

from crawlers.encoding import decode_body, resolve_encoding

B1_BODY = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head>'
           "<body><p>某公司镕铸车间通报</p><p>\U00020BB7</p></body></html>")


def test_b1_gbk_only_and_ext_b_characters_under_a_gb2312_label() -> None:
    body = B1_BODY.encode("gb18030")
    text, encoding, bad = decode_body(body, "text/html; charset=GB2312")
    assert text == B1_BODY and encoding == "gb18030" and bad == 0
    assert decode_body(body, None)[0] == B1_BODY  # from the <meta>, no header


def test_b1_short_gb2312_page_is_not_mojibake() -> None:
    body = '<meta charset=gb2312>中'.encode("gb2312")
    assert decode_body(body)[0].endswith("中")


@pytest.mark.parametrize(("body", "ctype", "expected"), [
    ("中文".encode(), "text/html; charset=utf-8", ("utf-8", "header")),
    (codecs.BOM_UTF8 + "中文".encode(), None, ("utf-8", "bom")),
    ('<?xml version="1.0" encoding="GBK"?><rss/>'.encode("gbk"), None, ("gb18030", "declared")),
    ("没有声明的中文页面内容".encode("gb18030"), None, ("gb18030", "detected")),
    ("中文".encode(), "text/html; charset=bogus-enc", ("utf-8", "detected")),
])
def test_resolution_order(body: bytes, ctype: str | None, expected: tuple[str, str]) -> None:
    assert resolve_encoding(body, ctype) == expected


def test_undecodable_bytes_are_counted_not_raised() -> None:
    text, _, bad = decode_body(b"\xff\xfe\xfd abc", "text/plain; charset=utf-8")
    assert bad == 3 and text.endswith("abc")
