"""The one Processor every way in uses: Scrapy items, ``yuqing import`` and tests.

It works on batches of raw post dicts (the fields of ``crawlers.items.PostItem``) and runs
named steps in order: clean → segment → sentiment → schemes. Model inference sees the
whole batch at once. Nothing here knows which spider produced a post.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nlp.categories import CategoryClassifier
from nlp.clean import clean_text, normalise
from nlp.segment import Segmenter
from nlp.sentiment import SentimentClassifier, default_threads
from pipeline.config import TIERS, Settings
from pipeline.errors import ConfigError
from pipeline.ids import post_id
from pipeline.schemes import SchemeMatcher

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 200_000  # a runaway page must not fill the store; longer text is cut and flagged
Post = dict[str, Any]
Step = Callable[[list[Post]], list[Post]]


@dataclass
class BatchReport:
    """What happened to one batch: how many came in, were kept, and why others were dropped."""

    received: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1


def to_utc_iso(value: Any) -> str | None:
    """Aware datetime or ISO string → ``YYYY-MM-DDTHH:MM:SSZ``; naive values are refused."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise TypeError(f"not a datetime: {value!r}")
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Processor:
    """Turns raw posts into analysed posts; build once, call ``process`` per batch."""

    def __init__(self, settings: Settings, classifier: SentimentClassifier | None = None,
                 segmenter: Segmenter | None = None) -> None:
        self.settings = settings
        self.segmenter = segmenter or Segmenter(settings.userdict_path)
        self.classifier = classifier or load_classifier(settings)
        self.matcher = SchemeMatcher(settings.schemes)
        self.categories = CategoryClassifier(settings.categories)
        self.steps: list[tuple[str, Step]] = [
            ("segment", self.segment),
            ("sentiment", self.sentiment),
            ("schemes", self.match_schemes),
            ("category", self.categorise),
        ]

    def process(self, raw: Iterable[Post], report: BatchReport | None = None) -> list[Post]:
        report = report or BatchReport()
        by_id: dict[str, Post] = {}
        for item in raw:
            report.received += 1
            post, reason = self.clean(item)
            if post is None:
                report.drop(reason)
                continue
            if post["id"] in by_id:  # the same post twice in one batch: kept once, the later copy wins
                report.drop("duplicate_id")
            by_id[post["id"]] = post
        posts = list(by_id.values())
        for _, step in self.steps:
            posts = step(posts)
        report.kept += len(posts)
        return posts

    def clean(self, item: Post) -> tuple[Post | None, str]:
        """Validate and normalise one raw post; returns (post, "") or (None, reason)."""
        platform = str(item.get("platform") or "unknown")
        title = clean_text(item.get("title")) or None
        text = clean_text(item.get("text"))
        if not text and not title:
            return None, "empty"
        truncated = bool(item.get("text_truncated"))
        if len(text) > MAX_TEXT_CHARS:
            text, truncated = text[:MAX_TEXT_CHARS], True
        try:
            published = to_utc_iso(item.get("published_at"))
            modified = to_utc_iso(item.get("modified_at"))
        except (ValueError, TypeError) as exc:
            log.warning("post from %s has a bad published_at: %s", item.get("source"), exc)
            return None, "bad_date"
        author = normalise(item.get("author")) or None
        try:
            pid = post_id(platform, item.get("platform_id"), item.get("url"),
                          content=f"{author}\x1f{published}\x1f{title}\x1f{text}")
        except ValueError:
            return None, "no_id"
        now = to_utc_iso(datetime.now(UTC))
        source = item.get("source") or platform
        tier = item.get("tier") if item.get("tier") in TIERS else None
        return {
            "id": pid,
            "platform": platform,
            "source": source,
            "source_tier": tier or self.settings.tier(source, platform),
            "platform_id": item.get("platform_id"),
            "url": item.get("url"),
            "title": title,
            "text": text,
            "author": author,
            "published_at": published,
            "published_precision": item.get("published_precision") or ("second" if published else None),
            "modified_at": modified,
            "crawled_at": to_utc_iso(item.get("crawled_at")) or now,
            "engagement": {k: int(v) for k, v in (item.get("engagement") or {}).items() if v is not None},
            "text_truncated": truncated,
            "repost_of": str(item["repost_of"]) if item.get("repost_of") else None,
            "dup_of": None,
            "cluster": None,
        }, ""

    def segment(self, posts: list[Post]) -> list[Post]:
        for p in posts:
            tokens = self.segmenter.tokens(" ".join(filter(None, (p["title"], p["text"]))))
            p["tokens"] = " ".join(tokens)
            p["keywords"] = self.segmenter.keywords(tokens)
        return posts

    def sentiment(self, posts: list[Post]) -> list[Post]:
        texts = [_sentiment_text(p) for p in posts]
        for p, result in zip(posts, self.classifier.predict(texts), strict=True):
            p["sentiment"] = result.as_dict(self.classifier.name)
            if p["text_truncated"]:
                p["sentiment"]["provisional"] = True  # the cut may hide the negative clause (B4)
        return posts

    def match_schemes(self, posts: list[Post]) -> list[Post]:
        for p in posts:
            p["schemes"] = self.matcher.match(p["title"], p["text"])
        return posts

    def categorise(self, posts: list[Post]) -> list[Post]:
        for p in posts:
            p["category"] = self.categories.classify(p["title"], p["text"]).name
        return posts


def _sentiment_text(post: Post) -> str:
    title, text = post["title"] or "", post["text"] or ""
    if title and not text.startswith(title):
        return f"{title}。{text}" if text else title
    return text


def load_classifier(settings: Settings) -> SentimentClassifier:
    """The configured model: a local directory (cwd, then the project root), or a hub id if allowed."""
    cfg = settings.app.model
    candidates = [Path(cfg.path), settings.path.parent.parent / cfg.path]
    local = next((c for c in candidates if c.is_dir()), None)
    if local is None and not cfg.allow_hub:
        raise ConfigError(f"{settings.path}: model.path: {cfg.path!r} is not a model directory "
                          "(set model.allow_hub: true to load a model-hub id instead)")
    if local is not None and not (local / "config.json").is_file():
        # A model that is documented but not shipped (the 12-layer teacher) has only its card here.
        card = " (its MODEL_CARD.md says how to build it)" if (local / "MODEL_CARD.md").is_file() else ""
        raise ConfigError(f"{settings.path}: model.path: {cfg.path!r} holds no model: config.json and "
                          f"the weights are missing{card}")
    return SentimentClassifier(local or cfg.path, batch_size=cfg.batch_size, threads=default_threads(),
                               uncertain_below=cfg.uncertain_below, local_files_only=local is not None,
                               quantize=None if cfg.quantize == "auto" else cfg.quantize)


def batched(items: Sequence[Post], size: int) -> Iterable[list[Post]]:
    for i in range(0, len(items), size):
        yield list(items[i:i + size])
