"""Stories: near-duplicate clusters kept in the store, with verification and rumour flags.

``StoryBook.assign`` runs on each analysed batch before it is stored: every post gets
``cluster`` (the story id: the id of the post that founded it) and ``dup_of`` when it is a
copy, plus its LSH keys so later batches — in this process or another — find it. A post
already in the store keeps its story. ``StoryBook.refresh`` runs after the batch is
stored and recomputes the touched stories from all their members in the store.

Verification and rumour flags are information for the analyst; nothing here suppresses
or raises an alert because of them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nlp.near_dup import MinHashLSH, Signature, fingerprint, is_near_duplicate, repost_core, shingles
from pipeline.config import Settings, StoriesConfig
from pipeline.ids import post_id
from pipeline.timeutil import parse_utc

log = logging.getLogger(__name__)
Post = dict[str, Any]
Story = dict[str, Any]

CONFIRMED, SINGLE_SOURCE, SOCIAL_ONLY = "confirmed", "single_source", "social_only"
UNVERIFIED, DISPUTED = "unverified", "disputed"
VERIFICATION_ZH = {CONFIRMED: "已证实", SINGLE_SOURCE: "单一来源", SOCIAL_ONLY: "仅社交媒体"}
RUMOUR_ZH = {UNVERIFIED: "未经证实", DISPUTED: "存在辟谣"}
CREDIBLE = ("official", "mainstream")
CHECK_PER_CLUSTER = 5  # members compared per candidate story: all members are copies of each other
NEAR_EXACT = 0.9  # a copy this similar to its match is not indexed itself (reposts of a viral post)


@dataclass
class _Known:
    """A post that can be matched against: its story and comparison form."""

    id: str
    cluster: str
    published: datetime | None
    sig: Signature


def _published(post: Post) -> datetime | None:
    value = post.get("published_at")
    return parse_utc(value) if value else None


class StoryBook:
    def __init__(self, settings: Settings, store: Any) -> None:
        self.cfg: StoriesConfig = settings.app.stories
        self.store = store
        self.lsh = MinHashLSH()

    # -- clustering ------------------------------------------------------------
    def assign(self, posts: list[Post]) -> set[str]:
        """Set ``cluster``, ``dup_of`` and ``lsh`` on each post; returns the story ids touched."""
        if not posts:
            return set()
        stored = self.store.cluster_assignments([p["id"] for p in posts])
        sigs = {p["id"]: self.lsh.signature(p.get("title"), p.get("text")) for p in posts}
        for p in posts:
            sig = sigs[p["id"]]
            p["lsh"] = list(sig.keys) if len(sig.fingerprint) >= self.cfg.min_chars else []
        fresh = sorted((p for p in posts if p["id"] not in stored),
                       key=lambda p: p.get("published_at") or "9999")
        queries = [(p["lsh"], *self._span(p)) for p in fresh]
        found = self.store.near_dup_candidates(queries) if queries else []
        local: dict[str, list[_Known]] = {}
        by_id = {p["id"]: p for p in posts}
        touched: set[str] = set()
        for p in posts:
            if p["id"] in stored:
                p["cluster"], p["dup_of"] = stored[p["id"]]
                touched.add(p["cluster"])
        for p, candidates in zip(fresh, found, strict=True):
            sig = sigs[p["id"]]
            cluster, dup_of, similarity = self._place(p, sig, candidates, local, by_id, stored)
            p["cluster"], p["dup_of"] = cluster, dup_of
            touched.add(cluster)
            if similarity >= NEAR_EXACT:
                p["lsh"] = []  # a near-exact copy finds nothing its original does not: keep the index small
                continue
            known = _Known(p["id"], cluster, _published(p), sig)
            for key in p["lsh"]:
                local.setdefault(key, []).append(known)
        return touched

    def _span(self, post: Post) -> tuple[datetime, datetime]:
        at = _published(post) or datetime.now(UTC)
        return at - self.cfg.window, at + self.cfg.window

    def _place(self, post: Post, sig: Signature, candidates: list[Post], local: dict[str, list[_Known]],
               by_id: dict[str, Post], stored: dict[str, tuple[str, str | None]]) -> tuple[str, str | None, float]:
        """(story, dup_of, similarity to the best match: 0 when it founds a story)."""
        repost_of = post.get("repost_of")
        if repost_of:  # the platform says whose copy this is: no guessing
            original = post_id(post["platform"], repost_of, None)
            if original in by_id and by_id[original].get("cluster"):
                return by_id[original]["cluster"], original, 1.0
            known = stored.get(original) or self.store.cluster_assignments([original]).get(original)
            return (known[0] if known else original), original, 1.0
        if not post["lsh"]:
            return post["id"], None, 0.0
        pool: dict[str, list[_Known]] = {}
        for c in candidates:
            if c["id"] == post["id"] or not c.get("cluster"):
                continue
            pool.setdefault(c["cluster"], []).append(
                _Known(c["id"], c["cluster"], _published(c), self._compare_form(c)))
        for key in post["lsh"]:
            for k in local.get(key, ()):
                if k.id != post["id"] and all(k.id != m.id for m in pool.get(k.cluster, ())):
                    pool.setdefault(k.cluster, []).append(k)
        best: tuple[float, str] | None = None
        for cluster, members in pool.items():
            members.sort(key=lambda m: (m.id != cluster, m.published or datetime.max.replace(tzinfo=UTC)))
            for m in members[:CHECK_PER_CLUSTER]:
                if is_near_duplicate(sig, m.sig, threshold=self.cfg.similarity):
                    score = len(sig.shingles & m.sig.shingles) / max(1, len(sig.shingles | m.sig.shingles))
                    if best is None or score > best[0]:
                        best = (score, cluster)
                    break
        if best is None:
            return post["id"], None, 0.0
        return best[1], best[1], best[0]

    @staticmethod
    def _compare_form(post: Post) -> Signature:
        fp = fingerprint(post.get("title"), post.get("text"))
        return Signature(fp, frozenset(shingles(fp)), ())

    # -- stories ---------------------------------------------------------------
    def refresh(self, clusters: Iterable[str], batch: Sequence[Post] = ()) -> list[Story]:
        """Recompute the given stories from their stored members; link debunks in ``batch``."""
        debunks = self._debunked_stories(batch)
        wanted = sorted(set(clusters) | set(debunks))
        if not wanted:
            return []
        members: dict[str, list[Post]] = {}
        for p in self.store.cluster_posts(wanted):
            members.setdefault(p["cluster"], []).append(p)
        previous = {s["cluster"]: s for s in self.store.find_stories(clusters=wanted)}
        stories = []
        for cluster, posts in members.items():
            old = previous.get(cluster) or {}
            new_ids, new_reason = debunks.get(cluster, (set(), None))
            old_reason = old.get("rumour_reason") if old.get("rumour") == DISPUTED else None
            stories.append(build_story(cluster, posts, self.cfg,
                                       debunked_by=sorted(set(old.get("debunked_by") or []) | new_ids),
                                       debunk_reason=new_reason or old_reason))
        self.store.upsert_stories(stories)
        self.store.update_posts({p["id"]: {"verification": s["verification"], "rumour": s["rumour"]}
                                 for s in stories for p in members[s["cluster"]]
                                 if (p.get("verification"), p.get("rumour")) != (s["verification"], s["rumour"])})
        return stories

    def _debunked_stories(self, batch: Sequence[Post]) -> dict[str, tuple[set[str], str]]:
        """Stories a credible debunking post in this batch speaks about (by shared keywords)."""
        found: dict[str, tuple[set[str], str]] = {}
        for post in batch:
            if post.get("source_tier") not in CREDIBLE or not is_debunk(post, self.cfg):
                continue
            at = _published(post) or datetime.now(UTC)
            words = set(post.get("keywords") or []) - set(self.cfg.debunk_terms)
            if not words:
                continue
            for story in self.store.find_stories(start=at - self.cfg.window, end=at + timedelta(days=1)):
                theirs = set(story.get("keywords") or [])
                if story["cluster"] == post.get("cluster") or not theirs:
                    continue
                if len(words & theirs) / min(len(words), len(theirs)) >= self.cfg.debunk_overlap:
                    ids, _ = found.get(story["cluster"], (set(), ""))
                    found[story["cluster"]] = (ids | {post["id"]}, _debunk_reason(post))
        return found


def is_debunk(post: Post, cfg: StoriesConfig) -> bool:
    text = f"{post.get('title') or ''} {post.get('text') or ''}"
    return any(term in text for term in cfg.debunk_terms)


def _debunk_reason(post: Post) -> str:
    head = (post.get("title") or post.get("text") or "")[:40]
    return f"{post.get('source')}（{post.get('source_tier')}）发布辟谣：{head}"


def verification_of(members: Sequence[Post]) -> tuple[str, str]:
    """(level, reason): confirmed by an official source or two independent mainstream sources,
    reported by one credible source, or seen on social media only."""
    official = sorted({p.get("source") or "?" for p in members if p.get("source_tier") == "official"})
    mainstream = sorted({p.get("source") or "?" for p in members if p.get("source_tier") == "mainstream"})
    if official:
        return CONFIRMED, f"官方来源：{'、'.join(official[:3])}"
    if len(mainstream) >= 2:
        return CONFIRMED, f"{len(mainstream)} 家主流媒体独立报道：{'、'.join(mainstream[:3])}"
    if mainstream:
        return SINGLE_SOURCE, f"仅 {mainstream[0]} 一家媒体报道"
    return SOCIAL_ONLY, "仅见于社交媒体/匿名来源"


def _fastest_growth(times: list[datetime], within: timedelta) -> int:
    """The most posts inside any span of ``within``."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] > within:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def build_story(cluster: str, members: Sequence[Post], cfg: StoriesConfig,
                debunked_by: Sequence[str] = (), debunk_reason: str | None = None) -> Story:
    """One story's summary from all its member posts (pure: the store is not touched)."""
    def when(p: Post) -> str:
        return p.get("published_at") or p.get("crawled_at") or "9999"

    ordered = sorted(members, key=when)
    first = ordered[0]
    tier_rank = {"official": 0, "mainstream": 1, "self_media": 2, "anonymous": 3}
    headline = min(ordered, key=lambda p: (tier_rank.get(p.get("source_tier") or "", 4), when(p)))
    labels = Counter((p.get("sentiment") or {}).get("label") or "none" for p in members)
    keywords = Counter(k for p in members for k in (p.get("keywords") or [])[:8])
    categories = Counter(p.get("category") for p in members if p.get("category"))
    reach = sum(sum((p.get("engagement") or {}).values()) for p in members)
    level, why = verification_of(members)
    rumour, rumour_reason = None, None
    credible_debunks = [p for p in members if p.get("source_tier") in CREDIBLE and is_debunk(p, cfg)]
    if len(credible_debunks) == len(members):
        credible_debunks = []  # a story made of the debunk itself disputes nothing in it
    if credible_debunks or debunked_by:
        rumour = DISPUTED
        rumour_reason = (_debunk_reason(credible_debunks[0]) if credible_debunks
                         else debunk_reason or "有权威来源发布了辟谣")
    elif level == SOCIAL_ONLY:
        times = [t for t in (_published(p) for p in members) if t]
        fastest = _fastest_growth(times, cfg.fast_within)
        if fastest >= cfg.fast_posts:
            hours = cfg.fast_within.total_seconds() / 3600
            rumour, rumour_reason = UNVERIFIED, f"仅社交媒体来源，{hours:g} 小时内 {fastest} 条，传播较快且无权威来源"
    return {
        "cluster": cluster,
        "title": _headline(headline),
        "first_post_id": first["id"],
        "first_source": first.get("source"),
        "first_url": first.get("url"),
        "first_published_at": first.get("published_at"),
        "last_published_at": when(ordered[-1]) if ordered[-1].get("published_at") else None,
        "size": len(members),
        "copies": sum(1 for p in members if p.get("dup_of")),
        "sources": sorted({p.get("source") or "?" for p in members}),
        "platforms": sorted({p.get("platform") or "?" for p in members}),
        "reach": reach,
        "sentiment": dict(labels),
        "negative": labels.get("negative", 0),
        "keywords": [k for k, _ in keywords.most_common(8)],
        "schemes": sorted({s for p in members for s in (p.get("schemes") or [])}),
        "category": categories.most_common(1)[0][0] if categories else None,
        "verification": level,
        "verification_reason": why,
        "rumour": rumour,
        "rumour_reason": rumour_reason,
        "debunked_by": sorted(set(debunked_by) | {p["id"] for p in credible_debunks}),
        "updated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _headline(post: Post) -> str:
    if post.get("title"):
        return str(post["title"])[:80]
    # a repost's headline is what was reposted, not "转发//@用户A:…" (the chain is the reposters' talk)
    text = repost_core(str(post.get("text") or ""))
    return text[:60] + ("…" if len(text) > 60 else "")
