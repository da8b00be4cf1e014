"""Near-duplicate detection: fingerprints, character shingles, MinHash and LSH band keys.

A repost, a syndicated copy and a copy with a short link appended are the same story
(field report B15). Texts are reduced to a fingerprint first — the repost chain, links,
``[表情]`` codes, handles, punctuation and case go, traditional characters become
simplified — so those copies compare as (nearly) equal strings. Similarity is measured
on character 3-gram shingles: Chinese has no spaces and jieba segments copies
differently when one character changes, characters do not.

Candidates are found with MinHash (datasketch) and LSH band keys; the keys are stored
with each post in the store, so the index survives restarts and is shared by every
process writing to that store. Candidates are then verified on their exact shingle sets.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from hashlib import blake2b
from pathlib import Path

import numpy as np
from datasketch import MinHash

# "太过分了//@用户A:原文" — the text after the last ``//@name:`` is what was reposted.
_REPOST_CHAIN = re.compile(r"//\s*@[^:：\s]{1,30}\s*[:：]")
_URL = re.compile(r"(?:https?://|www\.)[^\s\u4e00-\u9fff]*|\bt\.cn/\w+", re.IGNORECASE)
_EMOTICON = re.compile(r"\[[^\[\]\s]{1,8}\]")
_HANDLE = re.compile(r"@[\w\u4e00-\u9fff\-]{1,30}")
_HASHTAG = re.compile(r"#([^#]{1,40})#")
# Everything but letters, digits and CJK ideographs is noise for comparison.
_NOISE = re.compile(r"[^0-9a-z\u3400-\u9fff\uf900-\ufaff]+")

SHINGLE = 3
NUM_PERM = 128
BANDS = 32  # 32 bands × 4 rows: pairs with Jaccard ≥ 0.6 become candidates with p > 0.98
SEED = 20240501
PREFIX = 12  # characters of the fingerprint that form the opening key


@cache
def _t2s_table() -> dict[int, str]:
    """Traditional → simplified, character by character, from OpenCC's table (Apache-2.0)."""
    import opencc

    table: dict[int, str] = {}
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        trad, _, simp = line.partition("\t")
        if len(trad) == 1 and simp:
            table[ord(trad)] = simp.split(" ")[0]
    return table


def repost_core(text: str) -> str:
    """The reposted part of a ``comment//@a:comment//@b:original`` chain (the text itself otherwise)."""
    parts = _REPOST_CHAIN.split(text)
    core = parts[-1].strip()
    return core if core else text


def fingerprint(title: str | None, text: str | None) -> str:
    """The comparable form of a post: repost core, no links/emoticons/handles/#topics#/punctuation,
    simplified, lower case."""
    body = repost_core(text or "")
    title = (title or "").strip()
    if title and not body.startswith(title):
        body = f"{title} {body}"
    body = unicodedata.normalize("NFKC", body).lower()
    body = _URL.sub(" ", body)
    body = _EMOTICON.sub(" ", body)
    body = _HANDLE.sub(" ", body)
    body = _HASHTAG.sub(" ", body)  # a topic tag is not content: two comments under one tag are two posts
    body = body.translate(_t2s_table())
    return _NOISE.sub("", body)


def shingles(fp: str, k: int = SHINGLE) -> set[int]:
    """Hashed character k-grams (a fingerprint shorter than k is one shingle)."""
    if len(fp) <= k:
        return {zlib.crc32(fp.encode("utf-8"))} if fp else set()
    return {zlib.crc32(fp[i:i + k].encode("utf-8")) for i in range(len(fp) - k + 1)}


def jaccard(a: set[int], b: set[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def containment(a: set[int], b: set[int]) -> float:
    """How much of the smaller set lies in the larger: an original inside a copy with a long comment."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _hash32(data: bytes) -> int:
    return int.from_bytes(data[:4], "little")


@dataclass(frozen=True)
class Signature:
    """A post's comparison data: its shingles and the LSH keys that find its candidates."""

    fingerprint: str
    shingles: frozenset[int]
    keys: tuple[str, ...]


class MinHashLSH:
    """Band keys from MinHash signatures; same parameters → same keys in every process."""

    def __init__(self, num_perm: int = NUM_PERM, bands: int = BANDS, seed: int = SEED) -> None:
        if num_perm % bands:
            raise ValueError(f"num_perm {num_perm} is not a multiple of bands {bands}")
        self.num_perm, self.bands, self.rows, self.seed = num_perm, bands, num_perm // bands, seed
        self._proto = MinHash(num_perm=num_perm, seed=seed, hashfunc=_hash32)

    def keys(self, shingle_set: Iterable[int]) -> tuple[str, ...]:
        values = list(shingle_set)
        if not values:
            return ()
        mh = self._proto.copy()
        mh.update_batch([v.to_bytes(4, "little") for v in values])
        hv = np.asarray(mh.hashvalues, dtype=np.uint64)
        return tuple(f"{b:02d}{blake2b(hv[b * self.rows:(b + 1) * self.rows].tobytes(), digest_size=6).hexdigest()}"
                     for b in range(self.bands))

    def signature(self, title: str | None, text: str | None) -> Signature:
        fp = fingerprint(title, text)
        sh = frozenset(shingles(fp))
        keys = self.keys(sh)
        if len(fp) >= PREFIX:  # a copy with a long comment appended shares the opening, not the Jaccard
            keys += ("p" + blake2b(fp[:PREFIX].encode("utf-8"), digest_size=6).hexdigest(),)
        return Signature(fp, sh, keys)


def is_near_duplicate(a: Signature, b: Signature, *, threshold: float = 0.6, contained: float = 0.9,
                      min_contained_shingles: int = 8) -> bool:
    """Same story text: identical fingerprints, Jaccard ≥ threshold, or a long enough original
    almost wholly inside the other (a copy with a comment appended)."""
    if a.fingerprint == b.fingerprint:
        return bool(a.fingerprint)
    if jaccard(a.shingles, b.shingles) >= threshold:
        return True
    small = min(len(a.shingles), len(b.shingles))
    return small >= min_contained_shingles and containment(a.shingles, b.shingles) >= contained
