"""The one bundled CJK font, and its registration with matplotlib.

Charts, PDF reports and notebooks all use ``FONT_PATH`` (a TrueType subset of Noto Sans
SC, see PROVENANCE.md), so Chinese renders the same on a server without CJK fonts as on
an analyst's laptop (field report B22). Nothing happens at import time: callers ask for
``use_cjk_font()`` when they draw.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

FONT_PATH = Path(__file__).resolve().parent / "YuqingNotoSansSC-Regular.ttf"
FAMILY = "Yuqing Noto Sans SC"
PS_NAME = "YuqingNotoSansSC-Regular"


@cache
def use_cjk_font() -> str:
    """Register the font with matplotlib and make it the default sans-serif; returns the family.

    ``pdf.fonttype``/``ps.fonttype`` 42 embed the TrueType outlines (selectable, searchable
    text) instead of Type 3 bitmaps; ``axes.unicode_minus`` off because the subset's
    minus sign is the ASCII hyphen-minus.
    """
    import matplotlib
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(FONT_PATH))
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [FAMILY, *matplotlib.rcParams["font.sans-serif"]]
    matplotlib.rcParams["pdf.fonttype"] = 42
    matplotlib.rcParams["ps.fonttype"] = 42
    matplotlib.rcParams["axes.unicode_minus"] = False
    return FAMILY


@cache
def covered() -> frozenset[int]:
    """Code points the bundled font has glyphs for (to report characters a PDF cannot show)."""
    from fontTools.ttLib import TTFont

    with TTFont(str(FONT_PATH), lazy=True) as font:
        return frozenset(font.getBestCmap())
