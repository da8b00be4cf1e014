"""Distillation of the sentiment teacher into a shallower student (nlp.distill)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import BertForSequenceClassification

from nlp.distill import UNLABELLED, distillation_loss, ensemble_logits, main, student_from
from nlp.sentiment import DEFAULT_MODEL, TEACHER_MODEL, SentimentClassifier
from nlp.train import batch_logits
from tests.conftest import ROOT


def test_student_keeps_the_chosen_teacher_layers() -> None:
    teacher = BertForSequenceClassification.from_pretrained(TEACHER_MODEL, dtype=torch.float32)
    layers = [0, teacher.config.num_hidden_layers - 1]
    student = student_from(teacher, layers)
    assert student.config.num_hidden_layers == 2
    top_t = teacher.bert.encoder.layer[layers[1]].output.dense.weight
    assert torch.equal(student.bert.encoder.layer[1].output.dense.weight, top_t)
    assert torch.equal(student.classifier.weight, teacher.classifier.weight)
    assert torch.equal(student.bert.embeddings.word_embeddings.weight, teacher.bert.embeddings.word_embeddings.weight)


def test_loss_is_the_teachers_kl_plus_gold_cross_entropy() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]])
    gold = torch.tensor([0, UNLABELLED])
    # The student agrees with the teacher: only the gold row's cross-entropy is left.
    agree = distillation_loss(logits, logits.clone(), gold, temperature=2.0, alpha=0.7)
    ce = torch.nn.functional.cross_entropy(logits[:1], gold[:1])
    assert agree.item() == pytest.approx(0.3 * ce.item(), rel=1e-5)
    # Unlabelled rows alone, soft labels only: disagreement costs, agreement is free.
    none = torch.tensor([UNLABELLED, UNLABELLED])
    assert distillation_loss(logits, logits, none, 2.0, 0.7).item() == pytest.approx(0.0, abs=1e-6)
    assert distillation_loss(logits, logits.flip(0), none, 2.0, 0.7).item() > 0.1


@pytest.mark.slow
def test_distillation_script_writes_a_loadable_student(tmp_path: Path) -> None:
    """A few steps of the real distillation on the tiny sample (CI's check of nlp.distill)."""
    out = tmp_path / "student"
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "p.jsonl").write_text("\n".join(json.dumps({"text": t}, ensure_ascii=False)
                                             for t in ("停水三天了，太气人了", "自来水公司回应：明日恢复供水")),
                                   encoding="utf-8")
    # Two teachers (the shipped teacher and student share one vocabulary): the ensemble path.
    cmd = [sys.executable, "-m", "nlp.distill", "--teacher", str(TEACHER_MODEL), "--teacher", str(DEFAULT_MODEL),
           "--data", str(ROOT / "tests/fixtures/sentiment_tiny"), "--posts", str(posts), "--out", str(out),
           "--steps", "3", "--batch", "8", "--calibration-size", "40", "--checkpoint-every", "0",
           "--quantize", "int8", "--cap", "waimai_10k=3",
           "--extra", "nlp/data/negation_contrast_train.csv", "--cache", str(tmp_path / "logits.pt")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 unlabelled" in proc.stdout
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["num_hidden_layers"] == 2 and config["yuqing"]["distilled_from"] == [TEACHER_MODEL.name,
                                                                                         DEFAULT_MODEL.name]
    assert config["yuqing"]["caps"]["waimai_10k"] == 3
    assert config["yuqing"]["extra"] == {"negation_contrast_train.csv": 1} and "extra: 199 rows" in proc.stdout
    assert set(json.loads((out / "metrics.json").read_text(encoding="utf-8"))) == {"smp2020_ewect_virus",
                                                                                   "waimai_10k"}
    student = SentimentClassifier(out)
    assert student.quantize == config["yuqing"]["quantize"] == "int8"  # as the shipped default runs
    assert student.predict(["好"])[0].label is not None
    # The teacher's logits are cached: a second run reads them instead of labelling again; this one
    # re-distils an existing student (--init) rather than cutting layers from the teacher.
    again = subprocess.run([*cmd[:-2], "--cache", str(tmp_path / "logits.pt"), "--no-eval",
                            "--init", str(DEFAULT_MODEL), "--out", str(tmp_path / "again")],
                           capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert again.returncode == 0 and again.stdout.count("teacher logits from") == 2, again.stderr[-2000:]
    meta = json.loads((tmp_path / "again" / "config.json").read_text(encoding="utf-8"))["yuqing"]
    assert meta["initialised_from"] == DEFAULT_MODEL.name and meta["teacher_layers"] == []
    refused = subprocess.run([*cmd, "--init", str(DEFAULT_MODEL), "--layers", "0,1", "--out", str(tmp_path / "x")],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert refused.returncode == 2 and "--init and --layers: give one" in refused.stderr


def test_ensemble_soft_labels_are_the_mean_of_calibrated_logits(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    texts = ["停水三天了，太气人了", "自来水公司回应：明日恢复供水", "服务真不错"]
    tokenizer = AutoTokenizer.from_pretrained(TEACHER_MODEL)
    models = {m: BertForSequenceClassification.from_pretrained(m, dtype=torch.float32).eval()
              for m in (TEACHER_MODEL, DEFAULT_MODEL)}
    calibrated = {m: batch_logits(model, tokenizer, texts, 64) / model.config.yuqing["temperature"]
                  for m, model in models.items()}
    cache = tmp_path / "logits.pt"
    both, temperature = ensemble_logits([TEACHER_MODEL, DEFAULT_MODEL], tokenizer, texts, 64, cache)
    assert torch.allclose(both, (calibrated[TEACHER_MODEL] + calibrated[DEFAULT_MODEL]) / 2, atol=1e-4)
    assert temperature == 1.0  # calibrated already
    # One teacher alone gives its raw logits and its temperature (as the first student was made);
    # its cached entry (fp16) is reused, not recomputed.
    alone, temperature = ensemble_logits([TEACHER_MODEL], tokenizer, texts, 64, cache)
    assert temperature == models[TEACHER_MODEL].config.yuqing["temperature"] != 1.0
    assert torch.allclose(alone, calibrated[TEACHER_MODEL] * temperature, atol=2e-2)
    assert len(torch.load(cache)["entries"]) == 2


def test_teachers_with_different_vocabularies_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    other = tmp_path / "other"
    other.mkdir()
    for f in TEACHER_MODEL.iterdir():
        (other / f.name).symlink_to(f)
    (other / "tokenizer.json").unlink()
    spec = json.loads((TEACHER_MODEL / "tokenizer.json").read_text(encoding="utf-8"))
    spec["model"]["vocab"] = spec["model"]["vocab"][:-1]
    (other / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["--teacher", str(TEACHER_MODEL), "--teacher", str(other), "--data",
              str(ROOT / "tests/fixtures/sentiment_tiny"), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "its vocabulary is not that of" in capsys.readouterr().err
