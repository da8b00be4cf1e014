"""Decoding page bytes the way Chinese sites need (field report B1).

Order: the HTTP header's charset, then a BOM, then the document's own declaration
(``<meta charset>``, ``http-equiv`` or ``<?xml encoding?>``), then detection. gb2312 and
gbk are read as their superset gb18030, so characters like 镕 or Ext-B ideographs that
sites send under a gb2312 label decode instead of crashing or turning into mojibake.
Decoding never raises: undecodable bytes become U+FFFD and are counted by the caller.
"""

from __future__ import annotations

import codecs
import re

_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
              "iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "utf-8", "us-ascii": "utf-8"}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)"""
                       rb"""|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def normalise_encoding(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    try:
        codec = codecs.lookup(_SUPERSETS.get(name, name)).name
    except LookupError:
        return None
    return _SUPERSETS.get(codec, codec)


def resolve_encoding(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(encoding, where it came from): header, bom, declared, detected or default."""
    if content_type:
        m = _HEADER_CHARSET.search(content_type)
        enc = normalise_encoding(m.group(1)) if m else None
        if enc:
            return enc, "header"
    for bom, enc in _BOMS:
        if body.startswith(bom):
            return enc, "bom"
    m = _DECLARED.search(body[:4096])
    if m:
        enc = normalise_encoding((m.group(1) or m.group(2)).decode("ascii", "ignore"))
        if enc:
            return enc, "declared"
    try:
        body.decode("utf-8")
        return "utf-8", "detected"
    except UnicodeDecodeError:
        pass
    try:
        body.decode("gb18030")
        return "gb18030", "detected"
    except UnicodeDecodeError:
        return "utf-8", "default"


def decode_body(body: bytes, content_type: str | None = None) -> tuple[str, str, int]:
    """(text, encoding, number of undecodable sequences replaced)."""
    enc, _ = resolve_encoding(body, content_type)
    if body.startswith(codecs.BOM_UTF8) and enc == "utf-8":
        body = body[len(codecs.BOM_UTF8):]
    text = body.decode(enc, errors="replace")
    return text, enc, text.count("\ufffd")
