"""The 舆情报告 as PDF (reportlab), the bundled CJK font embedded.

The font is registered from ``pipeline.fonts.FONT_PATH`` as TrueType, so reportlab embeds a
subset of it (``FontFile2``) with a ToUnicode map: Chinese renders on any reader and can
be searched and copied. Paragraphs wrap the CJK way (between any two characters).
"""

from __future__ import annotations

import io
import logging
from typing import Any
from xml.sax.saxutils import escape

from pipeline.fonts import FONT_PATH, PS_NAME, covered

log = logging.getLogger(__name__)
FONT = PS_NAME
NEG = "#a50f15"


def _register() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_PATH)))


def _missing_glyphs(data: dict[str, Any]) -> set[str]:
    texts = [data["title"], *(p["text"] + p["title"] + p["source"] for p in data["top_posts"]),
             *(s["title"] + s["flag"] + s["source"] for s in data["stories"]),
             *(s["name"] for s in data["sources"]), *(k for k, _ in data["keywords"]),
             *(a["why"] for a in data["alerts"])]
    have = covered()
    return {ch for text in texts for ch in text if ord(ch) not in have and not ch.isspace()}


def render_pdf(data: dict[str, Any]) -> bytes:
    """A4 pages: the same sections as the HTML report."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _register()
    missing = _missing_glyphs(data)
    if missing:
        log.warning("report PDF: %d character(s) not in the bundled font show as boxes: %s", len(missing),
                    "".join(sorted(missing))[:40])
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=14, wordWrap="CJK")
    small = ParagraphStyle("small", parent=base, fontSize=8, leading=11)
    meta = ParagraphStyle("meta", parent=base, fontSize=8.5, textColor=colors.HexColor("#666666"))
    h1 = ParagraphStyle("h1", parent=base, fontSize=18, leading=24, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=base, fontSize=12.5, leading=18, spaceBefore=10, spaceAfter=4,
                        textColor=colors.HexColor(NEG))

    def p(text: str, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(text, style)

    def table(rows: list[list[Any]], widths: list[float], numeric_from: int = 99) -> Table:
        cells = [[c if isinstance(c, Flowable) else p(escape(str(c)), small) for c in row] for row in rows]
        t = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1)
        style = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                 ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f1f3")),
                 ("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), FONT)]
        if numeric_from < len(widths):
            style.append(("ALIGN", (numeric_from, 1), (-1, -1), "RIGHT"))
        t.setStyle(TableStyle(style))
        return t

    d = data
    story: list[Any] = [
        p(escape(d["title"]), h1),
        p(f"监测方案：{escape(d['scheme']['name'])}（{escape(d['scheme']['id'])}）　统计周期：{d['period']}"
          f"<br/>{d['period_exact']}　生成时间：{d['generated']}　时间均为北京时间", meta),
        p("一、概述", h2),
        p(f"统计周期内共监测到相关信息 {d['total']} 条，日均 {d['daily_average']} 条；其中负面 "
          f"<font color='{NEG}'>{d['by_label']['negative']}</font> 条，负面占比 "
          f"<font color='{NEG}'>{d['shares']['negative']}</font>；中性 {d['by_label']['neutral']} 条，"
          f"正面 {d['by_label']['positive']} 条。" + d["coverage_note"]
          + (f"负面信息最多的一天是 {d['peak']['day']}（负面 {d['peak']['negative']} 条，"
             f"全部 {d['peak']['total']} 条）。" if d["peak"] else "")
          + f"周期内共触发预警 {len(d['alerts'])} 次。"),
        p("二、负面舆情趋势", h2),
    ]
    if d["chart_png"]:
        story.append(Image(io.BytesIO(d["chart_png"]), width=170 * mm, height=68 * mm))
    story += [
        p("三、情感分布", h2),
        table([["情感倾向", "条数", "占比"],
               *([d["labels_zh"][k], d["by_label"][k], d["shares"][k]] for k in ("negative", "neutral", "positive"))],
              [40, 30, 30], numeric_from=1),
        p("四、重点事件与信息", h2),
        p("重点事件（转载与相似稿已合并，按规模排序）："),
    ]
    if d["stories"]:
        rows = [["#", "首发时间", "首发来源", "事件", "条数", "负面", "核实状态"]]
        for i, st in enumerate(d["stories"], start=1):
            content = f"[{escape(st['category'])}] {escape(st['title'])}"
            if st["flag"]:
                content += f'<br/><font color="#a50f15">⚠ {escape(st["flag"])}</font>'
            rows.append([i, p(escape(st["when"]).replace(" (", "<br/>("), small), p(escape(st["source"]), small),
                         p(content, small), st["size"], st["negative"], p(escape(st["verification"]), small)])
        story.append(table(rows, [8, 30, 24, 70, 12, 12, 22], numeric_from=4))
    else:
        story.append(p("周期内无事件记录。"))
    story.append(p("重点信息（按传播量）："))
    if d["top_posts"]:
        rows: list[list[Any]] = [["#", "发布时间", "来源", "内容", "情感", "传播量"]]
        for i, post in enumerate(d["top_posts"], start=1):
            content = escape(post["text"])
            if post["title"] and not post["text"].startswith(post["title"]):
                content = f"【{escape(post['title'])}】{content}"  # one weight bundled: no <b>
            if post["url"]:
                href = escape(post["url"], {'"': "&quot;"})
                content += f' <link href="{href}" color="blue">原文</link>'
            rows.append([i, p(escape(post["when"]).replace(" (", "<br/>("), small),
                         f"{post['source']}（{post['platform']}）", p(content, small), post["label"], post["reach"]])
        story.append(table(rows, [8, 30, 24, 81, 11, 14], numeric_from=5))
    else:
        story.append(p("周期内无相关信息。"))
    story += [
        p("五、来源与平台", h2),
        table([["来源", "信息量", "负面", "负面占比"], *([s["name"], s["posts"], s["negative"], s["share"]]
                                                for s in d["sources"])], [70, 30, 30, 30], numeric_from=1),
        Spacer(1, 4 * mm),
        table([["平台", "信息量", "负面", "负面占比"], *([s["name"], s["posts"], s["negative"], s["share"]]
                                                for s in d["platforms"])], [70, 30, 30, 30], numeric_from=1),
        p("六、预警记录", h2),
    ]
    if d["alerts"]:
        story.append(table([["预警窗口", "类型", "级别", "负面条数", "基线", "说明"],
                            *([a["window"], a["kind"], a["level"], a["count"], a["baseline"], a["why"]]
                              for a in d["alerts"])], [44, 18, 12, 16, 12, 66]))
    else:
        story.append(p("周期内无预警。"))
    keywords = "、".join(f"{escape(k)}（{n}）" for k, n in d["keywords"]) or "无"
    negative_keywords = "、".join(f"{escape(k)}（{n}）" for k, n in d["negative_keywords"]) or "无"
    story += [
        p("七、热点关键词", h2),
        p(f"全部信息：{keywords}"),
        p(f"<font color='{NEG}'>负面信息：</font>{negative_keywords}"),
        p("八、研判与建议", h2),
        table([["（由分析人员填写：事件研判、风险等级、处置建议。）"], [Spacer(1, 45 * mm)]], [170]),
        Spacer(1, 6 * mm),
        p("本报告由 yuqing 舆情监测系统根据已采集数据自动生成；正文中的个人信息已脱敏。", meta),
    ]

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.HexColor("#888888"))
        canvas.drawString(20 * mm, 10 * mm, f"{d['title']} · {d['period']}")
        canvas.drawRightString(190 * mm, 10 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=f"{d['title']}（{d['period']}）", author="yuqing",
                            subject="舆情报告")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
