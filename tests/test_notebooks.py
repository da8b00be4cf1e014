"""The analysis notebooks run top to bottom on demo data (nbclient), Chinese charts included.

The store is built the real way from a few hundred posts of ``pipeline/demo/data``:
``import_jsonl`` → Processor (cleaning, jieba, the shipped model, schemes) → SQLite, then
the alert checker replays the days so notebook 02 has an alert to review.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import nbformat
import pytest

from tests.conftest import ROOT, write_config

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DEMO = ROOT / "pipeline" / "demo" / "data"
SPIKE_DAY = "2020-02-13"


def test_committed_notebooks_are_stripped_and_current() -> None:
    names = [nb.name for nb in NOTEBOOKS]
    assert names == ["01_舆情概览.ipynb", "02_预警复盘.ipynb", "03_模型评估.ipynb"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs not stripped"
    from notebooks.build import EVAL, OVERVIEW, REVIEW  # the cells the notebooks are written from

    for path, cells in zip(NOTEBOOKS, (OVERVIEW, REVIEW, EVAL), strict=True):
        assert [c.source for c in nbformat.read(path, as_version=4).cells] == [c.source for c in cells], \
            f"{path.name} differs from notebooks/build.py: run it"


def _sample(out: Path) -> int:
    """Four Weibo posts a day (all of them on SPIKE_DAY) and 30 hot-search items."""
    per_day: dict[str, int] = defaultdict(int)
    lines = []
    for line in (DEMO / "weibo_covid19_posts_2020.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        day = rec["published_at"][:10]
        if day < "2020-03-01" and (per_day[day] < 4 or day == SPIKE_DAY):
            per_day[day] += 1
            lines.append({**rec, "platform": "weibo", "id": f"covid-{len(lines)}"})
    for line in (DEMO / "weibo_hot_search_2024_2026.jsonl").read_text(encoding="utf-8").splitlines()[:30]:
        lines.append({**json.loads(line), "platform": "rss"})
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    return len(lines)


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from alerts.checker import AlertChecker
    from alerts.notify import Notifier
    from pipeline.cli import replay
    from pipeline.config import load_settings
    from pipeline.importer import import_jsonl
    from pipeline.processor import Processor
    from pipeline.store import store_for

    tmp = tmp_path_factory.mktemp("notebooks")
    # The sample is a slice (4 posts a day against the demo's dozens), so the medical scheme's
    # min_count is scaled down with it: the spike day must not hinge on one borderline label.
    schemes = (ROOT / "config" / "schemes.yaml").read_text(encoding="utf-8")
    assert "min_count: 8, min_ratio: 1.5" in schemes
    config = write_config(tmp, sources="sources: []\n",
                          schemes=schemes.replace("min_count: 8, min_ratio: 1.5", "min_count: 5, min_ratio: 1.5"))
    settings = load_settings(config)
    sample = tmp / "sample.jsonl"
    n = _sample(sample)
    store = store_for(settings)
    try:
        now = datetime(2026, 12, 1, tzinfo=ZoneInfo("Asia/Shanghai"))  # as the CLI: date-only times are Beijing days
        report = import_jsonl(sample, Processor(settings), store, now)
        assert report.batch.kept >= 0.95 * n and not report.bad_lines
        fired = [r for r in replay(AlertChecker(settings, store, Notifier(settings)), settings, store)
                 if r.outcome == "fired"]
        assert fired, "the sample must contain a spike for notebook 02"
    finally:
        store.close()
    return config


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("YUQING_CONFIG", str(demo_config))
    monkeypatch.delenv("YUQING_STORE", raising=False)
    monkeypatch.setenv("YUQING_EVAL_LIMIT", "90")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()  # raises on any error
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, f"{path.name}: {len(images)} charts"
    text = "".join(o.get("text", "") for o in outputs)
    assert "missing from font" not in text  # every Chinese label found its glyph
