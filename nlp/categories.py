"""Categories: each post gets one category of the configured classification standard.

The standard (config/categories.yaml) is weighted keyword rules: a category's score is the
sum of the weights of its keywords found in the text, a hit in the title counting
``title_weight`` times. The best-scoring category wins when it reaches ``min_score``;
otherwise the post is the default (其他). Rules, not a model: there is no labelled
category data for this domain yet, and analysts must be able to read and change why a
post landed where it did — ``classify`` returns the matched keywords for that reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import CategoriesFile
from pipeline.schemes import fold


@dataclass(frozen=True)
class Category:
    name: str
    score: float
    matched: tuple[str, ...]


class CategoryClassifier:
    def __init__(self, standard: CategoriesFile) -> None:
        self.default = standard.default
        self.min_score = standard.min_score
        self.title_weight = standard.title_weight
        self._rules = [(c.name, [(fold(k), k, w) for k, w in c.keywords.items()]) for c in standard.categories]

    def classify(self, title: str | None, text: str | None) -> Category:
        folded_title, folded_text = fold(title or ""), fold(text or "")
        best = Category(self.default, 0.0, ())
        for name, keywords in self._rules:
            score, matched = 0.0, []
            for key, original, weight in keywords:
                in_title, in_text = key in folded_title, key in folded_text
                if in_title or in_text:
                    score += weight * (self.title_weight if in_title else 1.0)
                    matched.append(original)
            if score > best.score:
                best = Category(name, score, tuple(matched))
        return best if best.score >= self.min_score else Category(self.default, best.score, ())
