"""Distil the sentiment teacher into a shallower, faster student.

``python -m nlp.distill --teacher DIR --data shared/data/sentiment --posts shared/data/posts --out DIR``

The student is the teacher with only some of its transformer layers (by default its lowest
and its highest: the lowest fits the embeddings' output, the highest the classifier head's input),
so it starts close to the teacher and needs few steps. It learns from the teacher's soft
labels (temperature-softened logits) over the same training mixture ``nlp.train`` uses plus
unlabelled real posts, mixed with the gold labels where there are any. Inference cost is
roughly linear in the layers, so two of four layers read about twice as many posts a second.

Several ``--teacher`` options distil from their ensemble: the soft labels are the mean of the
teachers' calibrated logits (each divided by its own fitted temperature, so a more confident
teacher does not outvote the others). Two teachers of different depth make different mistakes; on the
dev sets their average beat either one, and a student can only be as good as its soft labels.

Each teacher's logits are cached (``--cache``, fp16, keyed by the texts and the teacher's
weights): a rerun with other student settings costs only the student's training.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import time
from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoTokenizer, BertForSequenceClassification

from nlp.clean import model_input
from nlp.cli_args import (
    check_caps,
    check_output_dir,
    data_dir,
    model_dir,
    positive_int,
    posts_dir,
    step_count,
)
from nlp.corpora import load_split
from nlp.evaluate import write_metrics
from nlp.train import DEFAULT_CAPS, add_mixture_arguments, batch_logits, fit_temperature, optimiser, save, training_pool

UNLABELLED = -1


def unlabelled_posts(folder: Path | None, limit: int | None = None) -> list[str]:
    """Texts of the real posts (JSON Lines with a ``text`` field), normalised like training data."""
    if folder is None:
        return []
    texts: list[str] = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                text = model_input(json.loads(line).get("text") or "")
                if len(text) >= 2:
                    texts.append(text)
    return texts[:limit] if limit else texts


def student_from(teacher: BertForSequenceClassification, layers: list[int]) -> BertForSequenceClassification:
    """A copy of the teacher that keeps only ``layers`` of its encoder."""
    config = teacher.config.to_dict()
    config.pop("yuqing", None)
    config["num_hidden_layers"] = len(layers)
    student = BertForSequenceClassification(type(teacher.config).from_dict(config))
    state = teacher.state_dict()
    mapped = {}
    for key, value in state.items():
        if key.startswith("bert.encoder.layer."):
            index, rest = key.removeprefix("bert.encoder.layer.").split(".", 1)
            if int(index) not in layers:
                continue
            key = f"bert.encoder.layer.{layers.index(int(index))}.{rest}"
        mapped[key] = value.float()
    missing, unexpected = student.load_state_dict(mapped, strict=False)
    if [k for k in missing if "position_ids" not in k] or unexpected:
        raise RuntimeError(f"student does not fit the teacher: missing {missing}, unexpected {unexpected}")
    return student


def teacher_logits(teacher: BertForSequenceClassification, tokenizer, texts: list[str], max_len: int,
                   cache: Path | None, teacher_key: str = "") -> torch.Tensor:
    """The teacher's raw logits for ``texts``, read from ``cache`` when it holds them for these texts
    and this teacher (one file holds an entry per teacher)."""
    digest = _digest(texts, max_len) + teacher_key
    entries: dict[str, torch.Tensor] = {}
    if cache and cache.exists():
        saved = torch.load(cache)
        entries = saved.get("entries") or {}
        if digest in entries:
            print(f"teacher logits from {cache}", flush=True)
            return entries[digest].float()
    started = time.time()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # little padding per batch
    out = torch.empty(len(texts), teacher.config.num_labels)
    step = 2048
    for start in range(0, len(order), step):
        idx = order[start:start + step]
        out[idx] = batch_logits(teacher, tokenizer, [texts[i] for i in idx], max_len, batch=128)
        print(f"teacher: {start + len(idx)}/{len(texts)} ({(start + len(idx)) / (time.time() - started):.0f}/s)",
              flush=True)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"entries": {**entries, digest: out.half()}}, cache)
    return out


def ensemble_logits(teachers: list[Path], tokenizer, texts: list[str], max_len: int,
                    cache: Path | None) -> tuple[torch.Tensor, float]:
    """The soft labels and the temperature that calibrates them.

    Several teachers: the mean of their calibrated logits (each teacher's logits divided by the
    temperature fitted for it, i.e. the normalised geometric mean of their calibrated
    probabilities), calibrated already. One teacher: its raw logits and its temperature, exactly
    as the first student was distilled (so that command still reproduces it)."""
    runs = [_raw_logits(path, tokenizer, texts, max_len, cache) for path in teachers]
    if len(runs) == 1:
        return runs[0]
    return sum(logits / temperature for logits, temperature in runs) / len(runs), 1.0


def _raw_logits(path: Path, tokenizer, texts: list[str], max_len: int,
                cache: Path | None) -> tuple[torch.Tensor, float]:
    """One teacher's raw logits and fitted temperature; the model is freed on return, so
    teachers are held in memory one at a time."""
    teacher = BertForSequenceClassification.from_pretrained(path, dtype=torch.float32).eval()
    temperature = float((getattr(teacher.config, "yuqing", None) or {}).get("temperature", 1.0))
    return teacher_logits(teacher, tokenizer, texts, max_len, cache, _weights_digest(path)), temperature


def _weights_digest(model: Path) -> str:
    h = hashlib.sha256()
    with (model / "model.safetensors").open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _vocabulary(model: Path) -> list:
    return json.loads((model / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]


def _digest(texts: list[str], max_len: int) -> str:
    h = hashlib.sha256(str(max_len).encode())
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def distillation_loss(student_logits: torch.Tensor, soft: torch.Tensor, gold: torch.Tensor, temperature: float,
                      alpha: float) -> torch.Tensor:
    """``alpha`` × KL to the teacher at ``temperature`` (× T², Hinton et al.) + (1 − alpha) × CE on
    the rows that have a gold label."""
    kl = nn.functional.kl_div(nn.functional.log_softmax(student_logits / temperature, dim=-1),
                              nn.functional.softmax(soft / temperature, dim=-1), reduction="batchmean")
    loss = alpha * kl * temperature ** 2
    labelled = gold != UNLABELLED
    if labelled.any() and alpha < 1:
        loss = loss + (1 - alpha) * nn.functional.cross_entropy(student_logits[labelled], gold[labelled])
    return loss


def distil(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.teacher[0])
    depth = AutoConfig.from_pretrained(args.teacher[0]).num_hidden_layers
    layers = [int(x) for x in args.layers.split(",")] if args.layers else [0, depth - 1]
    if not layers or max(layers) >= depth or min(layers) < 0 or sorted(set(layers)) != layers:
        raise SystemExit(f"--layers {args.layers}: give increasing layer indices from 0 to {depth - 1}")

    caps = {**DEFAULT_CAPS, **args.cap}
    pool = training_pool(args, rng)
    texts = [e.text for e in pool] + unlabelled_posts(args.posts, args.limit)
    gold = torch.tensor([e.label for e in pool] + [UNLABELLED] * (len(texts) - len(pool)))
    print(f"distillation set: {len(pool)} labelled + {len(texts) - len(pool)} unlabelled texts", flush=True)
    soft, soft_temperature = ensemble_logits(args.teacher, tokenizer, texts, args.max_len, args.cache)

    if args.init:
        # Re-distilling an existing student from a new teacher starts from weights that already
        # fit these layers together, instead of two teacher layers that never followed each other.
        student = BertForSequenceClassification.from_pretrained(args.init, dtype=torch.float32)
        student.config.__dict__.pop("yuqing", None)
        layers = []
    else:
        # Loaded only here (ensemble_logits has freed every teacher), so at most one model besides
        # the student is ever in memory.
        student = student_from(BertForSequenceClassification.from_pretrained(args.teacher[0], dtype=torch.float32),
                               layers)
    student.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    params = [p for p in student.parameters() if p.requires_grad]
    steps = args.steps or math.ceil(len(texts) * args.epochs / args.batch)
    opt, sched = optimiser(params, args.lr, steps)
    order = list(range(len(texts)))
    rng.shuffle(order)
    student.train()
    started, cursor = time.time(), 0
    for step in range(steps):
        if cursor + args.batch > len(order):
            rng.shuffle(order)
            cursor = 0
        idx = order[cursor:cursor + args.batch]
        cursor += args.batch
        enc = tokenizer([texts[i] for i in idx], truncation=True, max_length=args.max_len, padding=True,
                        return_tensors="pt")
        loss = distillation_loss(student(**enc).logits, soft[idx], gold[idx], args.temperature, args.alpha)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step + 1}/{steps} loss {loss.item():.4f} ({(step + 1) / (time.time() - started):.2f} "
                  "steps/s)", flush=True)
        if args.checkpoint_every and (step + 1) % args.checkpoint_every == 0:
            save(student, tokenizer, args.out, {"temperature": soft_temperature, "max_length": args.max_len,
                                                 "checkpoint_step": step + 1})
    student.eval()

    dev = [e for rows in load_split(args.data, "dev").values() for e in rows]
    rng.shuffle(dev)
    dev = dev[: args.calibration_size]
    temperature = fit_temperature(batch_logits(student, tokenizer, [e.text for e in dev], args.max_len),
                                  torch.tensor([e.label for e in dev]))
    meta = {"temperature": temperature, "max_length": args.max_len, "inference_window": args.inference_window,
            "chunk_length": args.chunk_length or args.max_len,
            "distilled_from": [t.name for t in args.teacher], "teacher_layers": layers, "steps": steps,
            "seed": args.seed,
            "distillation_texts": len(texts), "labelled_texts": len(pool), "lr": args.lr, "batch": args.batch,
            "alpha": args.alpha, "distillation_temperature": args.temperature, "caps": caps,
            "extra": {p.name: args.extra_repeat for p in args.extra}}
    if args.init:
        meta["initialised_from"] = args.init.name
    if args.quantize != "none":
        meta["quantize"] = args.quantize  # how SentimentClassifier runs it by default (and how it was measured)
    save(student, tokenizer, args.out, meta)
    print(f"saved to {args.out} (temperature {temperature:.3f}, {time.time() - started:.0f} s)", flush=True)
    return meta


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Distil the sentiment teacher into a student with fewer layers.")
    ap.add_argument("--teacher", type=model_dir, required=True, action="append",
                    help="a trained classifier (nlp.train's output); repeat it to distil from the teachers' "
                         "ensemble (they must share one vocabulary)")
    ap.add_argument("--data", type=data_dir, required=True, help="labelled corpora root (shared/data/sentiment)")
    ap.add_argument("--posts", type=posts_dir, help="folder of unlabelled real posts (*.jsonl with `text`)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--layers", help="teacher layers the student keeps, comma-separated (default: first,last)")
    ap.add_argument("--init", type=model_dir, help="start from this trained student instead (same vocabulary)")
    ap.add_argument("--steps", type=step_count, default=0, help="optimiser steps (0: derive from --epochs)")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch", type=positive_int, default=32)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--inference-window", type=int, default=128, help="texts up to this many tokens are read whole")
    ap.add_argument("--chunk-length", type=int, default=0,
                    help="tokens per chunk of a longer text (default: the training --max-len)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--alpha", type=float, default=0.7, help="weight of the teacher's soft labels")
    ap.add_argument("--temperature", type=float, default=2.0, help="softening of both logits in the KL term")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    add_mixture_arguments(ap)
    ap.add_argument("--cache", type=Path,
                    help="file for the teachers' logits (reused when the texts and the teacher match)")
    ap.add_argument("--calibration-size", type=int, default=3000)
    ap.add_argument("--checkpoint-every", type=int, default=500)
    ap.add_argument("--quantize", choices=["none", "int8"], default="none",
                    help="record that the student runs with int8 linear layers (Int8Linear), evaluated so")
    ap.add_argument("--eval", action=argparse.BooleanOptionalAction, default=True,
                    help="evaluate the saved student on every dev set and write metrics.json")
    args = ap.parse_args(argv)
    args.cap = dict(args.cap)
    check_caps(ap, args.cap, args.data)
    check_output_dir(ap, args.out)
    vocabulary = _vocabulary(args.teacher[0])
    for teacher in args.teacher[1:]:
        if _vocabulary(teacher) != vocabulary:
            ap.error(f"--teacher {teacher}: its vocabulary is not that of {args.teacher[0]}, so their logits "
                     "cannot be averaged")
    if args.init:
        if args.layers:
            ap.error("--init and --layers: give one (the student is either an existing model or teacher layers)")
        if _vocabulary(args.init) != vocabulary:
            ap.error(f"--init {args.init}: its vocabulary is not the teacher's, so the soft labels would not fit")
    distil(args)
    if args.eval:
        print(json.dumps(write_metrics(args.out, args.data), ensure_ascii=False))


if __name__ == "__main__":
    main()
