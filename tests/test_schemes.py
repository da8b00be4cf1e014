"""Scheme matching on raw text (field report B12) and the jieba user dictionary."""

from pathlib import Path

import pytest

from nlp.segment import Segmenter
from pipeline.config import Scheme
from pipeline.schemes import SchemeMatcher

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter(ROOT / "config" / "userdict.txt")


def test_b12_entity_hits_on_raw_text_even_where_jieba_merges_it() -> None:
    matcher = SchemeMatcher([Scheme(id="hd", name="恒达", any=["恒达"])])
    for text in ("随恒达足校出国", "监管再发狠招恒达人寿", "这对恒达概念股影响多大"):
        assert matcher.match(text) == ["hd"], text


def test_b12_user_dictionary_does_not_break_neighbours(segmenter: Segmenter) -> None:
    assert segmenter.tokens("银行客服态度差")[:2] == ["银行", "客服"]


def test_any_all_none_rules_and_width_case_folding() -> None:
    scheme = Scheme(id="w", name="供水", any=["停水", "自来水"], all=["某市"], none=["演练"])
    m = SchemeMatcher([scheme])
    assert m.match("某市今日停水") == ["w"]
    assert m.match("今日停水") == []           # `all` missing
    assert m.match("某市停水演练") == []       # `none` present
    assert m.match("标题：某市", "正文：自来水发黄") == ["w"]  # title and text together
    assert SchemeMatcher([Scheme(id="x", name="x", any=["ABC"])]).match("ａｂｃ公司") == ["x"]


def test_b11_protected_tokens(segmenter: Segmenter) -> None:
    tokens = segmenter.tokens("又被[怒]了#某市停水#@用户A 某集团·华东分公司称亏损-26.95%，见Ｖ1.0通知")
    for expected in ("[怒]", "#某市停水#", "@用户A", "某集团·华东分公司", "-26.95%", "V1.0"):
        assert expected in tokens


def test_keywords_skip_stopwords_and_urls(segmenter: Segmenter) -> None:
    tokens = segmenter.tokens("自来水公司 停水 停水 停水 我们 的 http://t.cn/x 网页链接")
    keywords = segmenter.keywords(tokens)
    assert keywords[0] == "停水"
    assert not {"我们", "的", "http://t.cn/x", "网页链接"} & set(keywords)
