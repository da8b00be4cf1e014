"""Categories: the shipped classification standard on a hand-labelled sample (issue 7)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nlp.categories import CategoryClassifier
from pipeline.config import CategoriesFile, load_settings
from pipeline.errors import ConfigError
from tests.conftest import ROOT, write_config

GOLD = Path(__file__).parent / "categories_gold.csv"


def test_shipped_standard_on_labelled_sample() -> None:
    standard = load_settings(ROOT / "config/yuqing.yaml").categories
    classifier = CategoryClassifier(standard)
    rows = list(csv.DictReader(GOLD.open(encoding="utf-8")))
    assert {r["category"] for r in rows} == {c.name for c in standard.categories} | {standard.default}
    real = [r for r in rows if r["origin"] == "demo-data"]
    right = sum(classifier.classify(r["title"], r["text"]).name == r["category"] for r in real)
    assert len(real) == 55 and right / len(real) >= 0.85  # measured 49/55 = 0.89


def test_title_counts_more_and_weak_evidence_is_other() -> None:
    standard = CategoriesFile.model_validate({"min_score": 2, "title_weight": 2, "categories": [
        {"name": "价格收费", "keywords": {"水费": 2, "贵": 0.5}},
        {"name": "服务质量", "keywords": {"客服": 1.5}}]})
    c = CategoryClassifier(standard)
    assert c.classify("水费又涨了", "客服也不解释").name == "价格收费"  # 4 (title) vs 1.5
    got = c.classify("", "太贵了")
    assert (got.name, got.score, got.matched) == ("其他", 0.5, ())


def test_category_typo_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "categories.yaml").write_text("categories:\n  - name: 环境\n    keyword: {污染: 1}\n", encoding="utf-8")
    cfg = write_config(tmp_path, sources="sources: []\n", schemes="schemes: []\n")
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text("\n".join(f"categories_file: {tmp_path / 'categories.yaml'}" if line.startswith("categories_file")
                             else line for line in text.splitlines()), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"categories\.0\.keyword: unknown key; did you mean 'keywords'"):
        load_settings(cfg)
