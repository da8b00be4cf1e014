"""Transformer sentiment classifier: batched ``predict`` and per-post ``annotate``.

The model is a standard transformers sequence-classification directory (shipped under
``nlp/models/``). Texts longer than the model's window are cut into overlapping token
chunks; a negative chunk decides the label (a complaint at the end of a long
article must not be averaged away), otherwise chunk probabilities are averaged by
length.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from nlp.clean import model_input

# The shipped default is the 2-layer int8 student distilled from the 4-layer teacher (~3× as fast,
# within a point of it on the dev sets: see its MODEL_CARD.md); the teacher stays a config choice.
DEFAULT_MODEL = Path(__file__).parent / "models" / "yuqing-sentiment-fast"
TEACHER_MODEL = Path(__file__).parent / "models" / "yuqing-sentiment-small"
# A long text's most negative chunk decides its label when it is negative (≥ 0.5) and the text as a
# whole does not read positive: a complaint closing a neutral article is not averaged away (B14).
# Against a text that reads positive overall it decides only when clearly negative (≥ 0.7): with
# 0.5 there, one gripe in a long, clearly positive hotel review outvoted the rest (hotel reviews
# 0.836 → 0.852 binary accuracy); the B14 complaint, after corporate text the model reads as
# mildly positive, still decides (its chunk reads ~0.85 negative).
_NEGATIVE_CHUNK_DECIDES = 0.5
_NEGATIVE_CHUNK_OUTWEIGHS_PRAISE = 0.7
_CHUNK_OVERLAP = 16
# A runaway page must not cost minutes: beyond this many chunks the head and the tail
# are read (a complaint usually opens or closes an article) and the result is marked truncated.
MAX_CHUNKS = 48


@dataclass(frozen=True)
class Sentiment:
    """One text's result. ``label`` is None for empty text (nothing to judge)."""

    label: str | None
    score: float
    probs: dict[str, float] = field(default_factory=dict)
    chunks: int = 0
    truncated: bool = False
    uncertain: bool = False

    def as_dict(self, model: str) -> dict:
        return {"label": self.label, "score": round(self.score, 4), "model": model,
                "probs": {k: round(v, 4) for k, v in self.probs.items()}, "chunks": self.chunks,
                "truncated": self.truncated, "uncertain": self.uncertain}


class SentimentClassifier:
    """Loads a model directory once; ``predict`` is pure and safe to run off the reactor."""

    def __init__(self, model: str | Path = DEFAULT_MODEL, *, batch_size: int = 64, threads: int | None = None,
                 uncertain_below: float = 0.5, local_files_only: bool = True, quantize: str | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        hf_logging.disable_progress_bar()  # no "Loading weights" bars in crawl logs
        self.name = Path(model).name if Path(model).exists() else str(model)
        self.tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=local_files_only)
        self.tokenizer.model_max_length = 1 << 30  # long texts are chunked here, not truncated by the tokenizer
        self.model = AutoModelForSequenceClassification.from_pretrained(
            model, dtype=torch.float32, local_files_only=local_files_only)
        self.model.eval()
        meta = getattr(self.model.config, "yuqing", None) or {}
        # The model card says how the model was measured; "int8" there (or here) runs its linear
        # layers in int8 (Int8Linear): faster on a CPU, within 0.1 point of fp32 on the dev sets.
        self.quantize = quantize or meta.get("quantize") or "none"
        if self.quantize == "int8":
            self.model = _int8(self.model)
        elif self.quantize != "none":
            raise ValueError(f"quantize: {self.quantize!r} is not one of none, int8")
        self.temperature = float(meta.get("temperature", 1.0))
        # A text that fits `window` is read whole (measured better than the training length, see
        # MODEL_CARD.md); a longer one is cut into chunks of the training length, so one negative
        # paragraph is not diluted by the neutral text around it (field report B14).
        self.window = int(meta.get("inference_window") or meta.get("max_length") or 128)
        self.chunk = int(meta.get("chunk_length") or meta.get("max_length") or self.window)
        self.labels = [self.model.config.id2label[i].lower() for i in range(self.model.config.num_labels)]
        self.batch_size = batch_size
        self.uncertain_below = uncertain_below

    def _chunks(self, ids: list[int]) -> tuple[list[list[int]], bool]:
        if len(ids) <= self.window - 2:
            return [ids], False
        body = self.chunk - 2
        step = body - _CHUNK_OVERLAP
        chunks = [ids[i:i + body] for i in range(0, len(ids) - _CHUNK_OVERLAP, step)]
        if len(chunks) <= MAX_CHUNKS:
            return chunks, False
        head = MAX_CHUNKS // 3
        return chunks[:head] + chunks[-(MAX_CHUNKS - head):], True

    @torch.inference_mode()
    def _probs(self, chunks: list[list[int]]) -> torch.Tensor:
        order = sorted(range(len(chunks)), key=lambda i: len(chunks[i]))
        out = torch.empty(len(chunks), len(self.labels))
        cls, sep, pad = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id, self.tokenizer.pad_token_id
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            width = max(len(chunks[i]) for i in idx) + 2
            input_ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                seq = [cls, *chunks[i], sep]
                input_ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            logits = self.model(input_ids=input_ids, attention_mask=mask).logits.float()
            out[idx] = torch.softmax(logits / self.temperature, dim=-1)
        return out

    def predict(self, texts: Sequence[str | None]) -> list[Sentiment]:
        prepared = [model_input(t) for t in texts]
        encoded = self.tokenizer([t or " " for t in prepared], add_special_tokens=False)["input_ids"]
        spans: list[tuple[int, int, bool]] = []
        flat: list[list[int]] = []
        for text, ids in zip(prepared, encoded, strict=True):
            pieces, truncated = self._chunks(ids) if text else ([], False)
            spans.append((len(flat), len(flat) + len(pieces), truncated))
            flat.extend(pieces)
        probs = self._probs(flat) if flat else torch.empty(0, len(self.labels))
        return [self._aggregate(probs[a:b], [len(c) for c in flat[a:b]], cut) for a, b, cut in spans]

    def _aggregate(self, probs: torch.Tensor, lengths: list[int], truncated: bool = False) -> Sentiment:
        if not lengths:
            return Sentiment(label=None, score=0.0)
        neg, pos = self.labels.index("negative"), self.labels.index("positive")
        weights = torch.tensor(lengths, dtype=torch.float32)
        combined = (probs * weights[:, None]).sum(0) / weights.sum()
        worst = int(probs[:, neg].argmax())
        if len(lengths) > 1:
            reads_positive = int(combined.argmax()) == pos
            bar = _NEGATIVE_CHUNK_OUTWEIGHS_PRAISE if reads_positive else _NEGATIVE_CHUNK_DECIDES
            if probs[worst, neg] >= bar:
                combined = probs[worst]
        best = int(combined.argmax())
        score = float(combined[best])
        return Sentiment(label=self.labels[best], score=score,
                         probs={name: float(combined[i]) for i, name in enumerate(self.labels)},
                         chunks=len(lengths), truncated=truncated, uncertain=score < self.uncertain_below)


class Int8Linear(torch.nn.Module):
    """An ``nn.Linear`` with int8 weights (one scale per output channel) and int8 activations with
    one scale per token, multiplied exactly in int32 (``torch._int_mm``).

    Per-token scales are why this is not ``torch.ao``'s dynamic quantisation: that uses one scale
    for the whole batch, so a post's label would depend on which posts share its batch.
    """

    def __init__(self, linear: torch.nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        scale = weight.abs().amax(dim=1).clamp(min=1e-8) / 127
        self.register_buffer("weight_t", torch.round(weight / scale[:, None]).to(torch.int8).t().contiguous())
        self.register_buffer("weight_scale", scale)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().float())
        self.out_features = linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1]).float()
        scale = rows.abs().amax(dim=1, keepdim=True).clamp_(min=1e-8) / 127  # (aminmax: 10× slower here)
        q = rows.div(scale).round_().to(torch.int8)
        if q.shape[0] <= 16:  # _int_mm wants more than 16 rows; pad, it is exact either way
            q = torch.nn.functional.pad(q, (0, 0, 0, 17 - q.shape[0]))
        out = torch._int_mm(q, self.weight_t)[: rows.shape[0]].float().mul_(scale).mul_(self.weight_scale)
        if self.bias is not None:
            out.add_(self.bias)
        return out.reshape(*x.shape[:-1], self.out_features)


def _int8(model: torch.nn.Module) -> torch.nn.Module:
    """Every ``nn.Linear`` of the encoder as an :class:`Int8Linear` (the classifier head stays fp32)."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.Linear) and name != "classifier":
                setattr(parent, name, Int8Linear(child))
    return model


def default_threads() -> int:
    """Inference threads: all cores unless YUQING_TORCH_THREADS says otherwise."""
    return int(os.environ.get("YUQING_TORCH_THREADS", "0")) or (os.cpu_count() or 1)
