"""The shipped transformers: defined results on odd input, chunking, the eval command, and a
quality gate per model (the default int8 student and the teacher it was distilled from)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from nlp.sentiment import DEFAULT_MODEL, TEACHER_MODEL, Int8Linear, SentimentClassifier
from tests.conftest import ROOT, run_yuqing

# Floors per shipped model: what it measured (MODEL_CARD.md), the gate's ~3 points under.
# Raise them with a better model; never lower them without a deliberate, reviewed step.
FLOORS = {
    # gate: measured binary 0.863, macro-F1 0.787; negation 10 of 16, held-out 18 of 30;
    # neutral news leads: 30 of 37 neutral (distilled from both teachers, 2026-12-04).
    DEFAULT_MODEL.name: {"binary": 0.83, "macro_f1": 0.76, "negation_wrong": 6, "heldout_wrong": 12,
                         "news_neutral": 0.75},
    # gate: measured 0.859 / 0.774; negation 10 of 16, held-out 19 of 30; news leads 29 of 37.
    TEACHER_MODEL.name: {"binary": 0.83, "macro_f1": 0.75, "negation_wrong": 6, "heldout_wrong": 11,
                         "news_neutral": 0.70},
}


@pytest.fixture(scope="module")
def clf() -> SentimentClassifier:
    return SentimentClassifier(DEFAULT_MODEL)


@pytest.fixture(scope="module", params=[DEFAULT_MODEL, TEACHER_MODEL], ids=lambda p: p.name)
def each_model(request: pytest.FixtureRequest) -> SentimentClassifier:
    return SentimentClassifier(request.param)


@pytest.mark.parametrize("model", [DEFAULT_MODEL, TEACHER_MODEL], ids=lambda p: p.name)
def test_model_is_a_transformers_directory_within_budget(model: Path) -> None:
    files = {p.name for p in model.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "MODEL_CARD.md", "bench.json"} <= files
    assert sum(p.stat().st_size for p in model.iterdir()) < 50 * 1024 * 1024
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    assert config["architectures"] == ["BertForSequenceClassification"]
    assert config["yuqing"]["temperature"] > 0


def test_default_is_the_int8_student_and_quantisation_can_be_switched_off() -> None:
    fast = SentimentClassifier(DEFAULT_MODEL)
    assert fast.quantize == "int8" and fast.model.config.num_hidden_layers == 2
    assert isinstance(fast.model.bert.encoder.layer[0].intermediate.dense, Int8Linear)
    plain = SentimentClassifier(DEFAULT_MODEL, quantize="none")
    assert type(plain.model.bert.encoder.layer[0].intermediate.dense) is torch.nn.Linear
    [a], [b] = fast.predict(["停水三天了，太气人了"]), plain.predict(["停水三天了，太气人了"])
    assert a.label == b.label == "negative" and abs(a.probs["negative"] - b.probs["negative"]) < 0.05
    with pytest.raises(ValueError, match="quantize: 'int4'"):
        SentimentClassifier(DEFAULT_MODEL, quantize="int4")


def test_a_posts_label_does_not_depend_on_its_batch(clf: SentimentClassifier) -> None:
    """Per-token int8 scales: the same text gets the same result alone or among other posts (with
    one scale per batch, a borderline long post flipped from negative to positive)."""
    praise = "今天社区组织志愿者为老人送菜，大家都很感动，服务非常周到。" * 10
    complaint = "小区停水三天了，打了十几次热线都没人管，物业态度恶劣，居民怨声载道，强烈要求有关部门尽快解决！"
    text = praise + complaint + praise
    others = ["服务很好", "太差了，再也不来了", "自来水公司发布停水通知：明日9时至18时检修管网。" * 3]
    [alone] = clf.predict([text])
    among = clf.predict([*others, text])[-1]
    assert alone.label == among.label
    assert all(abs(alone.probs[k] - among.probs[k]) < 0.01 for k in alone.probs)


def test_b13_empty_text_has_no_label_and_does_not_crash(clf: SentimentClassifier) -> None:
    empty, blank, emoji = clf.predict(["", "  \u200b ", "😡😡😡"])
    assert empty.label is None and blank.label is None and empty.chunks == 0
    assert emoji.label in {"negative", "neutral", "positive"}


def test_probabilities_are_a_distribution(clf: SentimentClassifier) -> None:
    [r] = clf.predict(["服务态度非常好，下次还来"])
    assert abs(sum(r.probs.values()) - 1) < 1e-4
    assert r.score == max(r.probs.values())


def test_b14_long_article_is_chunked_not_truncated(clf: SentimentClassifier) -> None:
    body = "本公司今年持续推进管网改造和服务提升工作，各项工作按计划有序开展。" * 90
    [calm, angry] = clf.predict([body, body + "最后，该企业拒绝赔偿，消费者非常愤怒。"])
    assert calm.chunks > 10 and not calm.truncated
    assert angry.label == "negative"
    assert calm.label != "negative"


def test_a_negative_chunk_outweighs_neutral_text_but_needs_to_be_clear_against_praise(
        clf: SentimentClassifier) -> None:
    """The long-text rule on chunk probabilities (negative, positive, neutral), three equal chunks."""
    def label(*chunks: tuple[float, float, float]) -> str | None:
        return clf._aggregate(torch.tensor(chunks), [62, 62, 62]).label

    calm, praise = (0.05, 0.15, 0.80), (0.05, 0.85, 0.10)
    assert label(calm, calm, (0.60, 0.10, 0.30)) == "negative"  # a complaint in a neutral article
    assert label(praise, praise, (0.60, 0.20, 0.20)) == "positive"  # one gripe in a glowing review
    assert label(praise, praise, (0.75, 0.10, 0.15)) == "negative"  # a clear complaint still decides
    assert label(calm, calm, (0.40, 0.20, 0.40)) == "neutral"


def test_sentiment_eval_command(tmp_path: Path) -> None:
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text("内容,标注\n太差了，再也不来了,0\n非常满意，点赞,1\n今天天气晴,2\n", encoding="utf-8")
    out = run_yuqing(ROOT / "config/yuqing.yaml", "sentiment", "eval", str(csv_path),
                     "--text-col", "内容", "--label-col", "标注")
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result) >= {"n", "accuracy", "macro_f1", "per_class", "confusion"}
    assert result["n"] == 3 and "binary_accuracy" not in result
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\n好,5\n", encoding="utf-8")
    err = run_yuqing(ROOT / "config/yuqing.yaml", "sentiment", "eval", str(bad))
    assert err.returncode == 2 and "bad.csv:2: label '5'" in err.stderr
    named = tmp_path / "named.csv"
    named.write_text("text,label\n太差了,negative\n,positive\n很好,正面\n", encoding="utf-8")
    out = run_yuqing(ROOT / "config/yuqing.yaml", "sentiment", "eval", str(named))
    assert json.loads(out.stdout.strip().splitlines()[-1])["n"] == 2 and "1 row(s) with empty text" in out.stderr
    markup = tmp_path / "markup.csv"
    markup.write_text("text,label\n<br/>,0\n&nbsp;,2\n服务很好,1.0\n", encoding="utf-8")
    out = run_yuqing(ROOT / "config/yuqing.yaml", "sentiment", "eval", str(markup))
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["n"] == 1 == sum(map(sum, result["confusion"]["matrix"]))  # markup-only rows skipped
    assert "2 row(s) with empty text (or only markup/whitespace) skipped" in out.stderr
    short = tmp_path / "short.csv"
    short.write_text("text,label\n很好,1\n只有文本\n", encoding="utf-8")
    err = run_yuqing(ROOT / "config/yuqing.yaml", "sentiment", "eval", str(short))
    assert err.returncode == 2 and "short.csv:3: no 'label' value" in err.stderr
    (tmp_path / "twice.csv").write_text("text,label,label\n好,1,0\n", encoding="utf-8")
    err = run_yuqing(ROOT / "config/yuqing.yaml", "sentiment", "eval", str(tmp_path / "twice.csv"))
    assert err.returncode == 2 and "'label' appear more than once" in err.stderr
    (tmp_path / "empty.csv").write_bytes(b"")
    for path, fragment in ((tmp_path / "nope.csv", "file not found"), (tmp_path, "is a folder"),
                           (tmp_path / "empty.csv", "the file is empty")):
        err = run_yuqing(ROOT / "config/yuqing.yaml", "sentiment", "eval", str(path))
        assert err.returncode == 2 and fragment in err.stderr and "Traceback" not in err.stderr


def test_sentiment_command_prints_label_and_score() -> None:
    out = run_yuqing(ROOT / "config/yuqing.yaml", "sentiment", "停水三天了，太气人了", "")
    lines = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert lines[0]["label"] == "negative" and 0 < lines[0]["score"] <= 1
    assert lines[1]["label"] is None and lines[1]["chunks"] == 0 and lines[0]["chunks"] == 1


@pytest.mark.slow
def test_training_reproduces_a_loadable_model(tmp_path: Path) -> None:
    """A few steps of the real training script on a tiny sample (CI's check of nlp.train)."""
    import subprocess
    import sys

    out = tmp_path / "m"
    proc = subprocess.run([sys.executable, "-m", "nlp.train", "--base", str(DEFAULT_MODEL),
                           "--data", str(ROOT / "tests/fixtures/sentiment_tiny"), "--out", str(out),
                           "--steps", "3", "--batch", "8", "--calibration-size", "40", "--checkpoint-every", "0",
                           "--max-len", "96", "--cap", "waimai_10k=5", "--extra",
                           "nlp/data/negation_contrast_train.csv", "--extra-repeat", "2", "--quantize", "int8",
                           "--inference-window", "256", "--chunk-length", "64", "--freeze-layers", "1"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "extra: 199 rows from nlp/data/negation_contrast_train.csv x 2" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics) == {"smp2020_ewect_virus", "waimai_10k"}
    assert "three_class" in metrics["smp2020_ewect_virus"]
    meta = json.loads((out / "config.json").read_text(encoding="utf-8"))["yuqing"]
    assert meta["caps"]["waimai_10k"] == 5 and meta["extra"] == {"negation_contrast_train.csv": 2}
    assert meta["base_meta"]["quantize"] == "int8"  # how the base model was made is kept
    assert meta["freeze_layers"] == 1
    from safetensors.torch import load_file

    before, after = load_file(DEFAULT_MODEL / "model.safetensors"), load_file(out / "model.safetensors")
    for name in ("bert.embeddings.position_embeddings.weight", "bert.encoder.layer.0.output.dense.weight"):
        assert torch.equal(before[name].float(), after[name].float()), f"{name} should stay frozen"
    assert not torch.equal(before["bert.encoder.layer.1.output.dense.weight"].float(),
                           after["bert.encoder.layer.1.output.dense.weight"].float())
    trained = SentimentClassifier(out)
    assert (trained.quantize, trained.window, trained.chunk) == ("int8", 256, 64)
    assert trained.predict(["好"])[0].label is not None


def test_training_commands_refuse_bad_arguments_at_once(tmp_path: Path) -> None:
    """A wrong path is named before any work starts (and is never tried as a model-hub id)."""
    import subprocess
    import sys

    (tmp_path / "no_label.csv").write_text("text,polarity\n好,1\n", encoding="utf-8")
    (tmp_path / "seven.csv").write_text("text,label\n服务很好谢谢,positive\n服务很好谢谢,7\n", encoding="utf-8")
    tiny = str(ROOT / "tests/fixtures/sentiment_tiny")
    for module, args, fragment in (
            ("nlp.train", ["--base", "x", "--data", tiny], "--base: x: not a model directory"),
            ("nlp.train", ["--base", str(DEFAULT_MODEL), "--data", str(tmp_path)], "no corpus folders"),
            ("nlp.train", ["--base", str(DEFAULT_MODEL), "--data", tiny, "--cap", "waimai_10k:5"],
             "--cap 'waimai_10k:5': write CORPUS=ROWS"),
            ("nlp.train", ["--base", str(DEFAULT_MODEL), "--data", tiny, "--extra", str(tmp_path / "no_label.csv")],
             "needs columns text,label; has text,polarity"),
            ("nlp.train", ["--base", str(DEFAULT_MODEL), "--data", tiny, "--extra", str(tmp_path / "seven.csv")],
             "seven.csv:3: label '7' is not 0/negative/负面"),
            ("nlp.train", ["--base", str(DEFAULT_MODEL), "--data", tiny, "--cap", "waimai=5"],
             "--cap waimai: no such corpus under"),
            ("nlp.train", ["--base", str(DEFAULT_MODEL), "--data", tiny, "--batch", "0"],
             "--batch: 0 is not at least 1"),
            ("nlp.train", ["--base", str(DEFAULT_MODEL), "--data", tiny, "--steps", "-3"], "--steps: -3 is not 0"),
            ("nlp.train", ["--base", str(DEFAULT_MODEL), "--data", tiny, "--freeze-layers", "2"],
             "--freeze-layers 2: the base has 2 layers and at least one must train"),
            ("nlp.distill", ["--teacher", str(TEACHER_MODEL), "--data", tiny, "--posts", str(tmp_path)],
             "not a folder of *.jsonl posts")):
        proc = subprocess.run([sys.executable, "-m", module, *args, "--out", str(tmp_path / "m")],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert proc.returncode == 2 and fragment in proc.stderr, (args, proc.stderr[-500:])
        assert not (tmp_path / "m").exists()
    (tmp_path / "m").write_text("", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "nlp.train", "--base", str(DEFAULT_MODEL), "--data", tiny,
                           "--out", str(tmp_path / "m")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "is a file, not a folder" in proc.stderr


def test_negation_and_contrast_gold_set(each_model: SentimentClassifier) -> None:
    """A hand-written gold set (B13): negation and 虽然…但是 contrast, labels only (0 neg, 1 pos)."""
    import csv

    rows = list(csv.DictReader((ROOT / "tests/fixtures/negation_contrast_gold.csv").open(encoding="utf-8")))
    predicted = each_model.predict([r["text"] for r in rows])
    polar = ["negative" if p.probs["negative"] >= p.probs["positive"] else "positive" for p in predicted]
    wrong = [r["text"] for r, p in zip(rows, polar, strict=True) if p != ("negative", "positive")[int(r["label"])]]
    for must in ("我今天不高兴", "外观没问题，挺流畅，但是信号真差", "不得不说，服务真不错"):
        assert must not in wrong, must
    assert len(wrong) <= FLOORS[each_model.name]["negation_wrong"], wrong


def test_negation_and_contrast_held_out_set(each_model: SentimentClassifier) -> None:
    """30 more hand-written sentences, written before the negation training set was used and never
    trained on: the measure of whether that set taught the forms or only its own sentences."""
    import csv

    rows = list(csv.DictReader((ROOT / "tests/fixtures/negation_contrast_heldout.csv").open(encoding="utf-8")))
    predicted = each_model.predict([r["text"] for r in rows])
    polar = ["negative" if p.probs["negative"] >= p.probs["positive"] else "positive" for p in predicted]
    wrong = [r["text"] for r, p in zip(rows, polar, strict=True) if p != ("negative", "positive")[int(r["label"])]]
    assert len(wrong) <= FLOORS[each_model.name]["heldout_wrong"], wrong


def test_news_style_reporting_comes_out_mostly_neutral(each_model: SentimentClassifier) -> None:
    """70 real hot-search news leads labelled by hand: the ones a reader takes as plain reporting
    must mostly come out neutral and seldom negative (a factual lead is not a complaint)."""
    import csv

    rows = list(csv.DictReader((ROOT / "tests/fixtures/news_leads_gold.csv").open(encoding="utf-8")))
    neutral = [r["text"] for r in rows if r["label"] == "2"]
    labels = [p.label for p in each_model.predict(neutral)]
    floors = FLOORS[each_model.name]
    assert labels.count("neutral") / len(neutral) >= floors["news_neutral"], labels
    assert labels.count("negative") / len(neutral) <= 0.15, labels


GATE_DIGEST = "f88a604ab842e7e783dbf242cb109d9264a6202fd62e3cdbcf6810c4b37a6587"


def test_quality_gate_on_a_held_out_sample(each_model: SentimentClassifier) -> None:
    """330 dev rows (never trained on) from every corpus; floors sit ~3 points under the measured values."""
    import csv
    import hashlib

    from nlp.evaluate import metrics

    path = ROOT / "tests/fixtures/sentiment_gate.csv"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == GATE_DIGEST, "the gate sample changed"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    predicted = each_model.predict([r["text"] for r in rows])
    three = metrics([int(r["label"]) for r in rows], predicted)
    polar = [(int(r["label"]), p) for r, p in zip(rows, predicted, strict=True) if r["label"] in ("0", "1")]
    binary = metrics([g for g, _ in polar], [p for _, p in polar])
    floors = FLOORS[each_model.name]
    assert binary["binary_accuracy"] >= floors["binary"]
    assert three["macro_f1"] >= floors["macro_f1"]


def test_calibration_error_is_the_gap_between_confidence_and_accuracy() -> None:
    from nlp.evaluate import calibration_error
    from nlp.sentiment import Sentiment

    def said(label: str, score: float) -> Sentiment:
        return Sentiment(label=label, score=score)

    # 0.75 confident, right 3 times in 4: calibrated.
    assert calibration_error([0, 0, 0, 1], [said("negative", 0.75)] * 4) == 0.0
    # 0.95 confident, right half the time: off by 0.45.
    assert calibration_error([0, 1], [said("negative", 0.95)] * 2) == 0.45
    assert calibration_error([], []) == 0.0
