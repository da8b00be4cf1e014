"""The Processor on batches: cleaning, ids, dedupe, bad input, the JSONL importer."""

from datetime import datetime
from pathlib import Path

import pytest

from crawlers.dates import SHANGHAI
from pipeline.config import ConfigError, load_settings
from pipeline.importer import import_jsonl
from pipeline.processor import BatchReport, Processor, load_classifier
from pipeline.store.sqlite import SQLiteStore
from tests.conftest import write_config

SCHEMES = "schemes:\n  - {id: shop, name: 门店, any: [门店, 退款]}\n"


@pytest.fixture(scope="module")
def processor(tmp_path_factory: pytest.TempPathFactory) -> Processor:
    tmp = tmp_path_factory.mktemp("proc")
    return Processor(load_settings(write_config(tmp, sources="sources: []\n", schemes=SCHEMES)))


def raw(**kw):
    base = {"platform": "weibo", "source": "s", "platform_id": "1", "text": "正文",
            "published_at": "2024-05-01T08:00:00+08:00"}
    return {**base, **kw}


def test_b10_through_the_pipeline(processor: Processor) -> None:
    [post] = processor.process([raw(text="\ufeff质量太差🔥😡[怒]\u200b，某门店拒绝退款 电话13812345678")])
    assert post["text"] == "质量太差🔥😡[怒]，某门店拒绝退款 电话<PHONE>"
    assert post["schemes"] == ["shop"]
    assert post["published_at"] == "2024-05-01T00:00:00Z"
    assert post["sentiment"]["label"] in {"negative", "neutral", "positive"}
    assert 0 <= post["sentiment"]["score"] <= 1
    assert "[怒]" in post["tokens"].split()


def test_ids_are_stable_and_batches_deduplicated(processor: Processor) -> None:
    a = processor.process([raw(platform_id="9", text="一"), raw(platform_id="9", text="二")])
    assert len(a) == 1 and a[0]["text"] == "二"
    b = processor.process([raw(platform_id=None, url="https://x.cn/a?utm_source=rss&b=1#frag")])
    c = processor.process([raw(platform_id=None, url="HTTPS://X.CN/a?b=1")])
    assert b[0]["id"] == c[0]["id"]


def test_bad_posts_are_dropped_with_reasons(processor: Processor) -> None:
    report = BatchReport()
    posts = processor.process([
        raw(platform_id="1", text="", title=None),
        raw(platform_id="2", published_at="2024-05-01 08:00:00"),  # naive: refused, never guessed
        raw(platform_id="3", text="<p>好</p>"),
    ], report)
    assert [p["platform_id"] for p in posts] == ["3"]
    assert report.dropped == {"empty": 1, "bad_date": 1}
    assert report.received == 3 and report.kept == 1


def test_huge_and_emoji_only_bodies(processor: Processor) -> None:
    huge, emoji = processor.process([raw(platform_id="h", text="水" * 300_000), raw(platform_id="e", text="😡😡😡")])
    assert huge["text_truncated"] and len(huge["text"]) == 200_000
    assert huge["sentiment"]["provisional"] and huge["sentiment"]["truncated"]
    assert emoji["sentiment"]["label"] is not None


def test_import_reports_bad_lines_and_imports_the_rest(processor: Processor, tmp_path: Path) -> None:
    path = tmp_path / "hotline.jsonl"
    path.write_text("\n".join([
        '{"content": "门店拒绝退款，态度很差", "time": "2024-05-01 10:00", "id": 1}',
        "not json",
        '{"content": "", "time": "2024-05-01 10:00"}',
        '{"content": "感谢门店及时处理", "time": "下周某天"}',
        "[1, 2]",
        '{"content": "门店已退款", "time": "昨天 12:30", "id": 2}',
    ]) + "\n", encoding="utf-8")
    store = SQLiteStore(":memory:")
    now = datetime(2024, 5, 2, 9, 0, tzinfo=SHANGHAI)
    report = import_jsonl(path, processor, store, now, {"text": "content", "published_at": "time"})
    assert [n for n, _ in report.bad_lines] == [2, 3, 4, 5]
    assert "unreadable published_at" in dict(report.bad_lines)[4]
    assert report.written.inserted == 2
    again = import_jsonl(path, processor, store, now, {"text": "content", "published_at": "time"})
    assert again.written.updated == 2 and store.count_posts() == 2
    published = {p["platform_id"]: p["published_at"] for p in store.find_posts()}
    assert published == {"1": "2024-05-01T02:00:00Z", "2": "2024-05-01T04:30:00Z"}  # 昨天 12:30 against now


def test_a_model_path_without_a_model_is_named(tmp_path: Path) -> None:
    """model.path at a documented-but-unbuilt model (a folder with only its card) or at nothing."""
    card_only = tmp_path / "yuqing-sentiment-deep"
    card_only.mkdir()
    (card_only / "MODEL_CARD.md").write_text("# built by a command\n", encoding="utf-8")
    for path, says in ((card_only, "holds no model: config.json and the weights are missing (its MODEL_CARD.md"),
                       (tmp_path / "nowhere", "is not a model directory")):
        config = write_config(tmp_path / f"config-{path.name}", sources="sources: []\n", schemes=SCHEMES,
                              extra=f"model: {{path: {path}}}\n")
        text = config.read_text(encoding="utf-8")
        config.write_text("\n".join(line for line in text.splitlines()
                                    if "yuqing-sentiment-fast" not in line) + "\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"model\.path") as exc:
            load_classifier(load_settings(config))
        assert says in str(exc.value)
