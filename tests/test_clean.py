"""Cleaning, normalisation and PII redaction (field report B10 and the corpora's scrub)."""

import pytest

from nlp.clean import clean_text, model_input, normalise, redact_pii, strip_html


def test_b10_bom_and_zero_width_removed_emoji_kept() -> None:
    raw = "\ufeff质量太差🔥😡[怒]\u200b，某门店拒绝退款"
    assert clean_text(raw) == "质量太差🔥😡[怒]，某门店拒绝退款"


def test_html_is_stripped_with_breaks_as_spaces() -> None:
    html = '<p>第一句<br/>第二句</p><script>var x=1;</script><a href="/t">#话题#</a>'
    assert strip_html(html) == "第一句 第二句#话题#"
    assert clean_text("a &amp; b") == "a & b"


def test_broken_html_does_not_raise() -> None:
    assert "文本" in clean_text("<div><p>文本<<<</div")


@pytest.mark.parametrize(("text", "expected"), [
    ("联系电话13812345678转", "联系电话<PHONE>转"),
    ("座机010-12345678", "座机<PHONE>"),
    ("邮箱 someone@example.com 联系", "邮箱 <EMAIL> 联系"),
    ("身份证11010519491231002X", "身份证<IDNUM>"),
    ("加QQ：123456789", "加<QQ>"),
])
def test_pii_redaction(text: str, expected: str) -> None:
    assert redact_pii(text) == expected


def test_model_input_anonymises_handles_like_the_training_data() -> None:
    assert model_input("转发 @张三:好 //@李四: 不好") == "转发 @用户:好 //@用户: 不好"


def test_normalise_collapses_whitespace() -> None:
    assert normalise(" a\u3000\n b\t") == "a b"
    assert normalise(None) == ""
