"""Monitoring-scheme matching on raw text (not on jieba tokens, see field report B12).

Keywords and text are compared after NFKC and case folding, so full-width letters,
traditional punctuation variants and capitalisation do not hide a match.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from pipeline.config import Scheme


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").casefold()


class SchemeMatcher:
    """Pre-folds every scheme's keywords once; ``match`` is then a pure lookup."""

    def __init__(self, schemes: Iterable[Scheme]) -> None:
        self._schemes = [
            (s.id, [fold(k) for k in s.any], [fold(k) for k in s.all], [fold(k) for k in s.none])
            for s in schemes
        ]

    def match(self, *texts: str | None) -> list[str]:
        """Ids of the schemes whose rules the given texts (title, body…) satisfy together."""
        haystack = "\n".join(fold(t) for t in texts if t)
        hits = []
        for scheme_id, any_, all_, none in self._schemes:
            if any_ and not any(k in haystack for k in any_):
                continue
            if not all(k in haystack for k in all_):
                continue
            if any(k in haystack for k in none):
                continue
            hits.append(scheme_id)
        return hits
