"""Rebuild the bundled CJK font (run by hand, not at install or import time).

    python -m pipeline.fonts.build_subset /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

Why a subset: Noto Sans CJK SC is 16 MB per weight; reports and charts need the
Simplified Chinese in everyday use. We keep GB2312 (6,763 hanzi and its symbols), ASCII,
the general and CJK punctuation blocks, full-width forms, and every CJK character that
occurs in the bundled demo data (real Weibo text, which has some traditional and rare
characters). Why TrueType outlines: the source is CFF (PostScript) outlines, which
matplotlib's PDF/PS fonttype 42 and reportlab cannot embed; fontTools' cu2qu turns the
cubic curves into quadratic ones (error below 1 unit of 1000).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
FONT_NAME = "YuqingNotoSansSC"  # renamed as the OFL asks for modified versions (no Reserved Font Name)
OUT = HERE / f"{FONT_NAME}-Regular.ttf"
DEMO_DATA = HERE.parent / "demo" / "data"
RANGES = [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x2100, 0x214F), (0x2190, 0x21FF), (0x2460, 0x24FF),
          (0x2500, 0x25FF), (0x3000, 0x303F), (0xFF00, 0xFFEF)]


def gb2312() -> set[str]:
    chars = set()
    for b1 in range(0xA1, 0xF8):
        for b2 in range(0xA1, 0xFF):
            try:
                chars.add(bytes([b1, b2]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def demo_chars() -> set[str]:
    chars: set[str] = set()
    for path in sorted(DEMO_DATA.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            chars.update(ch for key in ("title", "text") for ch in (rec.get(key) or "") if "\u3400" <= ch <= "\u9fff")
    return chars


def wanted() -> set[int]:
    cps = {ord(c) for c in gb2312() | demo_chars()}
    for lo, hi in RANGES:
        cps.update(range(lo, hi + 1))
    return cps


def cff_to_glyf(font) -> None:
    """Replace the CFF table by TrueType glyf/loca (quadratic curves)."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in font.getGlyphOrder():
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = font.getGlyphOrder()
    glyf.glyphs = glyphs
    font["loca"] = newTable("loca")
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr, value in (("maxZones", 1), ("maxTwilightPoints", 0), ("maxStorage", 0), ("maxFunctionDefs", 0),
                        ("maxInstructionDefs", 0), ("maxStackElements", 0), ("maxSizeOfInstructions", 0),
                        ("maxComponentElements", 0)):
        setattr(maxp, attr, value)
    font["head"].glyphDataFormat = 0
    font["head"].indexToLocFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = font.getGlyphOrder()
    font.sfntVersion = "\x00\x01\x00\x00"


def rename(font) -> None:
    family, full, ps = "Yuqing Noto Sans SC", "Yuqing Noto Sans SC Regular", f"{FONT_NAME}-Regular"
    names = font["name"]
    for rec in list(names.names):
        if rec.nameID in (1, 16):
            names.setName(family, rec.nameID, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID == 3:
            names.setName(f"{ps};subset", rec.nameID, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID == 4:
            names.setName(full, rec.nameID, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID == 6:
            names.setName(ps, rec.nameID, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID in (17,):
            names.setName("Regular", rec.nameID, rec.platformID, rec.platEncID, rec.langID)


def main() -> None:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ttc", type=Path, help="NotoSansCJK-Regular.ttc (Debian/Ubuntu package fonts-noto-cjk)")
    args = ap.parse_args()
    collection = TTCollection(str(args.ttc))
    font = next(f for f in collection.fonts if f["name"].getDebugName(1) == "Noto Sans CJK SC")
    options = subset.Options()
    options.layout_features = []  # horizontal Simplified Chinese only: no JP/KR/TC locl or vertical forms
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.hinting = False
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted())
    subsetter.subset(font)
    cff_to_glyf(font)
    rename(font)
    font.save(str(OUT))
    print(f"{OUT}: {OUT.stat().st_size / 2**20:.2f} MiB, {len(font.getGlyphOrder())} glyphs")


if __name__ == "__main__":
    main()
