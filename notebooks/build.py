"""Writes the analysis notebooks from the cells below, outputs stripped.

    python notebooks/build.py

The notebooks are the product; this file is how they stay reviewable as code in diffs
and always committed without outputs. Edit the cells here, run it, commit both.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = '''\
import os
from pathlib import Path

if Path.cwd().name == "notebooks":
    os.chdir(Path.cwd().parent)  # paths in config/yuqing.yaml are relative to the repo root

import matplotlib.pyplot as plt
import pandas as pd

from pipeline.config import load_settings
from pipeline.fonts import use_cjk_font
from pipeline.frame import (
    LABELS_ZH,
    counts_over_time,
    find_config,
    load_alerts,
    load_posts,
    load_stories,
    top_terms,
)
from pipeline.stories import RUMOUR_ZH, VERIFICATION_ZH

use_cjk_font()  # the bundled Noto Sans SC subset: Chinese titles and labels, no boxes
pd.set_option("display.max_colwidth", 80)
settings = load_settings(find_config())  # YUQING_CONFIG / YUQING_STORE apply
SCHEME = os.environ.get("YUQING_SCHEME") or None  # e.g. "water-supply"; None: every post
names = {s.id: s.name for s in settings.schemes}
COLORS = {"负面": "#d9534f", "中性": "#9aa3ad", "正面": "#4a9d5b"}
print("store:", settings.app.store, "| scheme:", SCHEME or "all")'''

OVERVIEW = [
    new_markdown_cell("# 舆情概览\n\nVolume and sentiment over time, sources, top keywords and schemes, for the "
                      "whole store or one scheme (`YUQING_SCHEME`), over a period of Beijing days. The store comes from `config/yuqing.yaml` "
                      "or `YUQING_STORE`; every count below is computed by the store (SQL or an Elasticsearch "
                      "aggregation), the DataFrame holds the posts themselves. Times are Beijing time."),
    new_code_cell(SETUP),
    new_code_cell('''\
# The period: YUQING_SINCE / YUQING_UNTIL (YYYY-MM-DD, Beijing days), by default the 120 days up to the newest post.
newest = load_posts(settings, scheme=SCHEME, order="published", limit=1)["published_at"]
if newest.empty:
    raise SystemExit("the store holds no posts for this selection: crawl, import or run `yuqing demo` first")
UNTIL = os.environ.get("YUQING_UNTIL") or f"{newest.iloc[0]:%Y-%m-%d}"
SINCE = os.environ.get("YUQING_SINCE") or f"{pd.Timestamp(UNTIL) - pd.Timedelta(days=119):%Y-%m-%d}"
period = {"scheme": SCHEME, "since": SINCE, "until": UNTIL}
posts = load_posts(settings, **period)
print(f"{len(posts)} posts from {SINCE} to {UNTIL} (Beijing time)")
posts.dtypes'''),
    new_markdown_cell("## 信息量与情感走势"),
    new_code_cell('''\
counts = counts_over_time(settings, window="1d", by="label", **period).rename(columns=LABELS_ZH)
fig, ax = plt.subplots(figsize=(10, 3.5))
counts.plot.area(ax=ax, color=[COLORS[c] for c in counts.columns], linewidth=0)
ax.set_title("每日信息量与情感走势（北京时间）")
ax.set_xlabel("")
ax.set_ylabel("条数")
ax.legend(title="")
plt.show()
counts.tail()'''),
    new_code_cell('''\
share = (counts["负面"] / counts.sum(axis=1)).where(counts.sum(axis=1) >= 5)  # too few posts: no share
fig, ax = plt.subplots(figsize=(10, 2.8))
(share * 100).plot(ax=ax, color="#a50f15", marker=".", linestyle="-")
ax.set_title("负面占比（%，窗口内不少于 5 条时）")
ax.set_xlabel("")
plt.show()'''),
    new_markdown_cell("## 来源与平台"),
    new_code_cell('''\
by_source = pd.crosstab(posts["source"], posts["sentiment"].map(LABELS_ZH)).reindex(columns=list(COLORS),
                                                                                    fill_value=0)
by_source = by_source.loc[by_source.sum(axis=1).sort_values(ascending=False).index][:15]
fig, ax = plt.subplots(figsize=(8, 0.4 * len(by_source) + 1))
by_source[::-1].plot.barh(stacked=True, ax=ax, color=[COLORS[c] for c in by_source.columns])
ax.set_title("主要来源的信息量与情感")
ax.set_ylabel("")
plt.show()
top_terms(settings, field="platform", **period)'''),
    new_markdown_cell("## 热点关键词\n\nAll posts against negative posts."),
    new_code_cell('''\
kw_all = top_terms(settings, field="keywords", size=20, **period)
kw_neg = top_terms(settings, field="keywords", size=20, sentiment="negative", **period)
fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for ax, kw, title, color in ((axes[0], kw_all, "全部信息关键词", "#5b7db1"), (axes[1], kw_neg, "负面信息关键词", "#d9534f")):
    ax.barh(kw["term"][::-1], kw["posts"][::-1], color=color)
    ax.set_title(title)
fig.tight_layout()
plt.show()'''),
    new_markdown_cell("## 监测方案\n\nA post can match several schemes."),
    new_code_cell('''\
per_scheme = posts.explode("schemes").dropna(subset=["schemes"])
table = pd.crosstab(per_scheme["schemes"].map(lambda s: names.get(s, s)), per_scheme["sentiment"].map(LABELS_ZH))
table = table.reindex(columns=list(COLORS), fill_value=0)
table["负面占比"] = (table["负面"] / table.sum(axis=1) * 100).round(1)
table.sort_values("负面", ascending=False)'''),
    new_code_cell('''\
columns = ["published_at", "source", "sentiment", "reach", "title", "text", "url"]
posts.sort_values("reach", ascending=False)[columns].head(10)'''),
    new_markdown_cell("## 分类与事件\n\nCategories come from config/categories.yaml; stories group reposts and "
                      "copies (one row a story), with their verification level and rumour flag."),
    new_code_cell('''\
by_category = pd.crosstab(posts["category"], posts["sentiment"].map(LABELS_ZH)).reindex(columns=list(COLORS),
                                                                                    fill_value=0)
by_category.sort_values("负面", ascending=False)'''),
    new_code_cell('''\
stories = load_stories(settings, scheme=SCHEME, since=SINCE, until=UNTIL, limit=200)
stories["核实状态"] = stories["verification"].map(VERIFICATION_ZH)
stories["标记"] = stories["rumour"].map(RUMOUR_ZH)
print(f"{len(posts)} posts in {posts['cluster'].nunique()} stories; the 10 biggest:")
stories[["first_published_at", "size", "n_sources", "negative", "category", "核实状态", "标记", "title"]].head(10)'''),
]

REVIEW = [
    new_markdown_cell("# 预警复盘\n\nOne alert from the store: its window, the posts in it, the terms that "
                      "stood out against the windows before, and how it spread over time and across "
                      "sources. Set `YUQING_ALERT` to an alert key to pick one; by default the alert with "
                      "the most negative posts."),
    new_code_cell(SETUP),
    new_code_cell('''\
alerts = load_alerts(settings, scheme=SCHEME)
alerts = alerts[alerts["kind"].isin(["spike", "share", "reminder"])]
if alerts.empty:
    raise SystemExit("no alerts in the store: run `yuqing alerts check --replay` (or `yuqing demo`) first")
key = os.environ.get("YUQING_ALERT")
alert = alerts.set_index("key").loc[key] if key else alerts.sort_values("count").iloc[-1]
start, end = alert["window_start"], alert["window_end"]
width = end - start
print(f"{alert['scheme_name']}: {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} (UTC+8), "
      f"negative {alert['count']} vs baseline {alert['baseline']:.1f}, threshold {alert['threshold']:.1f}")
print(alert["why"])
alerts[["window_start", "scheme_name", "kind", "level", "count", "baseline", "threshold", "status"]].tail(10)'''),
    new_markdown_cell("## 窗口内的信息"),
    new_code_cell('''\
window_posts = load_posts(settings, scheme=alert["scheme_id"], since=start, until=end)
negative = window_posts[window_posts["sentiment"] == "negative"]
print(f"{len(window_posts)} posts in the window, {len(negative)} negative")
negative.sort_values("reach", ascending=False)[["published_at", "source", "reach", "sentiment_score", "text", "url"]].head(15)'''),
    new_markdown_cell("## 窗口内的事件\n\nThe negative posts grouped into stories (reposts and copies count once; "
                      "the alert counted these when `alert.count` is `stories`)."),
    new_code_cell('''\
in_window = negative.groupby("cluster").agg(窗口内负面=("id", "count"), 首条=("published_at", "min"))
window_stories = load_stories(settings, scheme=alert["scheme_id"], since=start, until=end)
window_stories = window_stories.merge(in_window, left_on="cluster", right_index=True)
window_stories["核实状态"] = window_stories["verification"].map(VERIFICATION_ZH)
window_stories["标记"] = window_stories["rumour"].map(RUMOUR_ZH)
print(f"{len(negative)} negative posts = {negative['cluster'].nunique()} stories")
window_stories.sort_values("窗口内负面", ascending=False)[
    ["首条", "窗口内负面", "size", "n_sources", "category", "核实状态", "标记", "title"]].head(10)'''),
    new_markdown_cell("## 突出词语\n\nKeywords of the window's negative posts against the seven windows before it "
                      "(lift = share in the window / share in the baseline, with add-one smoothing)."),
    new_code_cell('''\
base_start = start - 7 * width
now_terms = top_terms(settings, scheme=alert["scheme_id"], since=start, until=end, sentiment="negative", size=30)
base_terms = top_terms(settings, scheme=alert["scheme_id"], since=base_start, until=start, sentiment="negative",
                       size=500)
n_now = max(len(negative), 1)
n_base = len(load_posts(settings, scheme=alert["scheme_id"], since=base_start, until=start, sentiment="negative"))
terms = now_terms.merge(base_terms, on="term", how="left", suffixes=("", "_baseline")).fillna({"posts_baseline": 0})
terms["lift"] = (terms["posts"] / n_now) / ((terms["posts_baseline"] + 1) / (n_base + 1))
terms = terms.sort_values(["lift", "posts"], ascending=False).head(15)
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.barh(terms["term"][::-1], terms["lift"][::-1], color="#d9534f")
ax.set_title("预警窗口的突出词语（相对前 7 个窗口的提升倍数）")
plt.show()
terms'''),
    new_markdown_cell("## 传播过程\n\nHow the negative posts built up: by hour across the window and a day either "
                      "side, and which sources carried it first."),
    new_code_cell('''\
around = counts_over_time(settings, window="1h", by="label", scheme=alert["scheme_id"],
                          since=start - pd.Timedelta(days=1), until=end + pd.Timedelta(days=1))
around = around.rename(columns=LABELS_ZH)
fig, ax = plt.subplots(figsize=(10, 3.2))
around[["负面", "中性", "正面"]].plot(ax=ax, color=[COLORS[c] for c in ("负面", "中性", "正面")])
ax.axvspan(start, end, color="#a50f15", alpha=0.08, label="预警窗口")
ax.set_title("预警前后每小时信息量（北京时间）")
ax.set_xlabel("")
ax.legend()
plt.show()'''),
    new_code_cell('''\
spread = (negative.groupby("source", observed=True)
          .agg(首条=("published_at", "min"), 条数=("id", "count"), 传播量=("reach", "sum"))
          .sort_values("首条"))
spread["首条"] = spread["首条"].dt.strftime("%Y-%m-%d %H:%M (UTC+8)")
spread'''),
]

EVAL = [
    new_markdown_cell("# 模型评估\n\nThe shipped sentiment model on a labelled CSV (default: the quality-gate "
                      "sample `tests/fixtures/sentiment_gate.csv`, dev splits never used in training; set "
                      "`YUQING_EVAL_CSV` for your own with columns `text`, `label` 0 negative / 1 positive / "
                      "2 neutral). Accuracy, macro-F1, the confusion matrix and the most confident errors."),
    new_code_cell('''\
import os
from pathlib import Path

if Path.cwd().name == "notebooks":
    os.chdir(Path.cwd().parent)

import matplotlib.pyplot as plt
import pandas as pd

from nlp.corpora import LABELS
from nlp.evaluate import metrics
from pipeline.config import load_settings
from pipeline.fonts import use_cjk_font
from pipeline.frame import LABELS_ZH, find_config
from pipeline.processor import load_classifier

use_cjk_font()
pd.set_option("display.max_colwidth", 100)
settings = load_settings(find_config())
csv = Path(os.environ.get("YUQING_EVAL_CSV") or "tests/fixtures/sentiment_gate.csv")
limit = int(os.environ.get("YUQING_EVAL_LIMIT") or 0) or None  # a quicker run on the first N rows
data = pd.read_csv(csv, encoding="utf-8-sig").dropna(subset=["text"]).head(limit)
print(f"{csv}: {len(data)} labelled rows")
data["label"].map(dict(enumerate(LABELS))).value_counts()'''),
    new_code_cell('''\
clf = load_classifier(settings)
predicted = clf.predict(data["text"].tolist())
result = metrics(data["label"].tolist(), predicted)
print(f"model {clf.name}: accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}")
pd.DataFrame(result["per_class"]).T.rename(index=LABELS_ZH)'''),
    new_code_cell('''\
data["gold"] = data["label"].map(dict(enumerate(LABELS)))
data["predicted"] = [p.label for p in predicted]
data["score"] = [p.score for p in predicted]
data["correct"] = data["gold"] == data["predicted"]
if "corpus" in data:
    display(data.groupby("corpus")["correct"].agg(["mean", "size"]).rename(columns={"mean": "accuracy"}))'''),
    new_markdown_cell("## 混淆矩阵\n\nRows: the gold label; columns: what the model said."),
    new_code_cell('''\
order = [label for label in ("negative", "neutral", "positive") if label in set(data["gold"]) | set(data["predicted"])]
matrix = pd.crosstab(data["gold"], data["predicted"]).reindex(index=order, columns=order, fill_value=0)
fig, ax = plt.subplots(figsize=(4.5, 4))
ax.imshow(matrix.values, cmap="Reds")
ax.set_xticks(range(len(order)), [LABELS_ZH[x] for x in order])
ax.set_yticks(range(len(order)), [LABELS_ZH[x] for x in order])
ax.set_xlabel("模型判断")
ax.set_ylabel("人工标注")
for i in range(len(order)):
    for j in range(len(order)):
        ax.text(j, i, matrix.values[i, j], ha="center", va="center")
ax.set_title("混淆矩阵")
plt.show()'''),
    new_markdown_cell("## 错误样例\n\nThe most confident mistakes first: where the model is sure and wrong."),
    new_code_cell('''\
errors = data[~data["correct"]].sort_values("score", ascending=False)
errors.assign(gold=errors["gold"].map(LABELS_ZH), predicted=errors["predicted"].map(LABELS_ZH))[
    ["text", "gold", "predicted", "score"]].head(15)'''),
    new_code_cell('''\
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist([data.loc[data["correct"], "score"], data.loc[~data["correct"], "score"]], bins=10, range=(0, 1),
        label=["正确", "错误"], color=["#4a9d5b", "#d9534f"])
ax.set_title("置信度分布：正确与错误")
ax.legend()
plt.show()'''),
]


def write(name: str, cells: list) -> None:
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i:02d}"  # stable ids: a rebuild changes nothing unless a cell did
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.validate(nb)
    (HERE / name).write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write("01_舆情概览.ipynb", OVERVIEW)
    write("02_预警复盘.ipynb", REVIEW)
    write("03_模型评估.ipynb", EVAL)
