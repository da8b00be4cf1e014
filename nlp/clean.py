"""Text cleaning, normalisation and PII redaction.

The sentiment training corpora under ``shared/data/sentiment`` were scrubbed with
the rules below (see their PROVENANCE files). Inference must see text prepared the
same way, so :func:`model_input` is used both by ``nlp.train`` and by the classifier.
"""

from __future__ import annotations

import html
import re

from lxml import html as lxml_html

# Zero-width characters and the BOM vanish; emoji and Weibo ``[表情]`` codes stay.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_WHITESPACE = re.compile(r"\s+")
_TAG_HINT = re.compile(r"<[a-zA-Z!/][^>]*>")

# Order matters: ID numbers before phones (an ID contains phone-like runs).
_PII_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "<EMAIL>"),
    (re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])"), "<IDNUM>"),
    (re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)"), "<PHONE>"),
    (re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)"), "<PHONE>"),
    (re.compile(r"(?i)(?:QQ|扣扣)[:：\s号]*\d{5,11}"), "<QQ>"),
    (re.compile(r"(?i)(?:微信|vx|wx|wechat)[:：\s号]*[A-Za-z][-_A-Za-z0-9]{5,19}"), "<WECHAT>"),
)
# A Weibo handle: @ followed by name characters, up to a separator.
_HANDLE = re.compile(r"@[\w\u4e00-\u9fff\-]{1,30}")
_EMOTICON = re.compile(r"\[[^\[\]\s]{1,8}\]")


def strip_html(text: str) -> str:
    """Turn an HTML fragment into plain text; plain text passes through unchanged.

    Weibo ``text`` fields and RSS descriptions are HTML fragments whose ``<br>``
    separate sentences, so block breaks become spaces rather than nothing.
    """
    if not text or not _TAG_HINT.search(text):
        return html.unescape(text or "")
    try:
        root = lxml_html.fragment_fromstring(text, create_parent="div")
    except (ValueError, lxml_html.etree.ParserError):
        return html.unescape(_TAG_HINT.sub(" ", text))
    for br in root.iter("br"):
        br.tail = " " + (br.tail or "")
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    return root.text_content()


def normalise(text: str | None) -> str:
    """Remove invisible characters and collapse whitespace; keep emoji."""
    if not text:
        return ""
    text = _INVISIBLE.sub("", text)
    text = text.replace("\u3000", " ")
    return _WHITESPACE.sub(" ", text).strip()


def redact_pii(text: str) -> str:
    """Replace e-mails, ID numbers, phones, QQ and WeChat ids with placeholders."""
    for pattern, placeholder in _PII_RULES:
        text = pattern.sub(placeholder, text)
    return text


def clean_text(raw: str | None) -> str:
    """The stored form of a post's text: no HTML, normalised, PII redacted."""
    return redact_pii(normalise(strip_html(raw or "")))


def model_input(text: str | None) -> str:
    """The classifier's view of a text: cleaned, and handles anonymised as in training."""
    return _HANDLE.sub("@用户", clean_text(text))


def strip_emoticons(text: str) -> str:
    """Drop ``[表情]`` codes; used for corpora whose labels were derived from them."""
    return normalise(_EMOTICON.sub("", text))
