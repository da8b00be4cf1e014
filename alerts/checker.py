"""The alert checker: for each scheme, is the current window's negative count a spike?

Everything it compares comes from the store (counts, the last alert, pending
deliveries), so a restart or a second checker changes nothing: an alert's key
(scheme, kind, window start) is claimed in the store before anything is sent.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alerts.detect import Decision, detect_share_jump, detect_spike, level_rank, severity
from alerts.notify import Notifier
from pipeline.config import Scheme, Settings, platform_zh
from pipeline.schemes import fold
from pipeline.store import AlertRecord, Store
from pipeline.stories import RUMOUR_ZH, VERIFICATION_ZH
from pipeline.timeutil import window_start

log = logging.getLogger(__name__)
KIND_SPIKE = "spike"
KIND_REMINDER = "reminder"
KIND_SENSITIVE = "sensitive"
KIND_SHARE = "share"
CHART_WINDOWS = 14


@dataclass(frozen=True)
class CheckResult:
    scheme_id: str
    outcome: str  # calm | warmup | fired | already_alerted | cooldown | reminded
    decision: Decision
    alert: AlertRecord | None = None


class AlertChecker:
    def __init__(self, settings: Settings, store: Store, notifier: Notifier, *, dry_run: bool = False) -> None:
        self.settings = settings
        self.store = store
        self.notifier = notifier
        self.dry_run = dry_run  # a backtest: a spike is logged as "would fire", not as a WARNING

    def check(self, now: datetime) -> list[CheckResult]:
        """One pass over every scheme at ``now`` (aware); first retries undelivered alerts."""
        self.notifier.retry_undelivered(self.store)
        results = []
        for scheme in self.settings.schemes:
            results.append(self.check_scheme(scheme, now))
            if scheme.alert.share_jump:
                results.append(self.check_share(scheme, now))
            results.extend(self.check_sensitive(scheme, now))
        return results

    def check_share(self, scheme: Scheme, now: datetime) -> CheckResult:
        """Negative share of the current window against the baseline windows' shares."""
        rule, tz = scheme.alert, self.settings.tz
        start = window_start(now, rule.window, tz)
        lookback = start - rule.window * rule.baseline_windows * 4
        negative = self.store.window_counts(start=lookback, end=now, window=rule.window, tz=tz,
                                            scheme=scheme.id, label="negative")
        totals = self.store.window_counts(start=lookback, end=now, window=rule.window, tz=tz, scheme=scheme.id)
        history_starts = sorted((w for w in totals if w < start), reverse=True)[: rule.baseline_windows]
        decision = detect_share_jump(negative.get(start, 0), totals.get(start, 0),
                                     [(negative.get(w, 0), totals[w]) for w in history_starts], rule)
        if not decision.fired:
            return CheckResult(scheme.id, "calm" if decision.history >= rule.min_history else "warmup", decision)
        last = self.store.last_alert(scheme.id, KIND_SHARE)
        if last and last.window_start == start:
            return CheckResult(scheme.id, "already_alerted", decision, last)
        if last and start - last.window_start < rule.cooldown:
            return CheckResult(scheme.id, "cooldown", decision, last)
        record = AlertRecord(
            key=f"{scheme.id}:{KIND_SHARE}:{start.isoformat()}", scheme_id=scheme.id, kind=KIND_SHARE,
            window_start=start, window_end=start + rule.window, count=decision.count, baseline=decision.baseline,
            threshold=decision.threshold, why=decision.why,
            payload={**self._payload(scheme, start, start + rule.window, now, negative, history_starts),
                     "level": "占比", "recipients": list(scheme.recipients)})
        if not self.store.claim_alert(record):
            return CheckResult(scheme.id, "already_alerted", decision, record)
        self.notifier.deliver(record, self.store)
        return CheckResult(scheme.id, "fired", decision, record)

    def check_sensitive(self, scheme: Scheme, now: datetime) -> list[CheckResult]:
        """Instant alerts: negative posts of the current window with a sensitive keyword and enough reach."""
        if not scheme.sensitive:
            return []
        rule, tz = scheme.alert, self.settings.tz
        start = window_start(now, rule.window, tz)
        words = [fold(w) for w in scheme.sensitive]
        results = []
        for post in self.store.find_posts(scheme=scheme.id, label="negative", start=start, end=now, order="reach"):
            reach = sum((post.get("engagement") or {}).values())
            if reach < scheme.sensitive_min_reach:
                break  # ordered by reach
            text = fold(f"{post.get('title') or ''}\n{post.get('text') or ''}")
            hits = [w for w, folded in zip(scheme.sensitive, words, strict=True) if folded in text]
            if not hits:
                continue
            why = f"负面信息命中敏感词「{'、'.join(hits)}」，互动量 {reach}（阈值 {scheme.sensitive_min_reach}）"
            decision = Decision(True, 1, 0.0, float(scheme.sensitive_min_reach), 0, why)
            record = AlertRecord(
                key=f"{scheme.id}:{KIND_SENSITIVE}:{post['id']}", scheme_id=scheme.id, kind=KIND_SENSITIVE,
                window_start=start, window_end=start + rule.window, count=1, baseline=0.0,
                threshold=float(scheme.sensitive_min_reach), why=decision.why,
                payload={"scheme_name": scheme.name, "level": "敏感", "sensitive": hits,
                         "recipients": list(dict.fromkeys([*scheme.recipients,
                                                           *scheme.level_recipients.get("重大", [])])),
                         "top_posts": [_post_summary(post)]})
            if self.store.claim_alert(record):
                self.notifier.deliver(record, self.store)
                results.append(CheckResult(scheme.id, "fired", decision, record))
        return results

    def check_scheme(self, scheme: Scheme, now: datetime) -> CheckResult:
        rule, tz = scheme.alert, self.settings.tz
        start = window_start(now, rule.window, tz)
        period = seasonal_period(rule.window) if rule.seasonal else None
        lookback = start - (period or rule.window) * rule.baseline_windows * (1 if period else 4)
        negative = self.store.window_counts(start=lookback, end=now, window=rule.window, tz=tz,
                                            scheme=scheme.id, label="negative", stories=rule.count == "stories")
        # A window in which nothing at all was stored is a gap in collection, not calm.
        covered = self.store.window_counts(start=lookback, end=start, window=rule.window, tz=tz)
        last = self.store.last_alert(scheme.id, KIND_SPIKE)
        if last and start - last.window_start < rule.cooldown:
            # During an incident the baseline stays the one from before it, so a plateau
            # does not become the new normal (field report B18).
            episode = datetime.fromisoformat(last.payload.get("episode_start") or last.window_start.isoformat())
            covered = {w: n for w, n in covered.items() if w < episode}
        if period:  # the same time of day (or week) in earlier periods
            candidates = {start - period * k for k in range(1, rule.baseline_windows + 1)}
            covered = {w: n for w, n in covered.items() if w in candidates}
        history_starts = sorted(covered, reverse=True)[: rule.baseline_windows]
        history = [negative.get(w, 0) for w in history_starts]
        decision = detect_spike(negative.get(start, 0), history, rule)
        if not decision.fired:
            outcome = "warmup" if decision.history < rule.min_history else "calm"
            return CheckResult(scheme.id, outcome, decision)

        level = severity(decision.count, decision.threshold, rule.levels)
        last_level = last.payload.get("level") if last else None
        if last and last.window_start == start and level_rank(level, rule.levels) <= level_rank(
                last_level, rule.levels):
            return CheckResult(scheme.id, "already_alerted", decision, last)
        # Escalation is a higher level within the same episode (the cooldown); a 较大 spike weeks
        # after a 一般 one is a new alert, not an "升级".
        in_episode = last is not None and start - last.window_start < rule.cooldown
        escalation = in_episode and level_rank(level, rule.levels) > level_rank(last_level, rule.levels)
        if in_episode and not escalation:
            return self._remind(scheme, decision, level, last, start, now, negative, history_starts)

        kind = KIND_SPIKE
        episode_start = (last.payload.get("episode_start") or last.window_start.isoformat()) if in_episode \
            else start.isoformat()
        record = self._record(scheme, kind, f"{scheme.id}:{kind}:{start.isoformat()}:{level}", decision, level,
                              start, now, negative, history_starts, escalated_from=last_level if escalation else None,
                              episode_start=episode_start)
        if not self.store.claim_alert(record):  # another checker claimed it first
            return CheckResult(scheme.id, "already_alerted", decision, record)
        log.log(logging.INFO if self.dry_run else logging.WARNING,
                "scheme %s: %snegative spike %d (baseline %.1f, threshold %.1f, level %s) in window starting %s",
                scheme.id, "backtest, would fire: " if self.dry_run else "", decision.count, decision.baseline,
                decision.threshold, level, start.isoformat())
        self.notifier.deliver(record, self.store)
        return CheckResult(scheme.id, "fired", decision, record)

    def _remind(self, scheme: Scheme, decision: Decision, level: str, last: AlertRecord, start: datetime,
                now: datetime, negative: dict[datetime, int], history_starts: list[datetime]) -> CheckResult:
        """Inside the cooldown at the same or a lower level: a "still elevated" reminder, at most
        one per ``reminder_interval`` (counted in windows, so backtests behave like live runs)."""
        rule = scheme.alert
        if rule.reminder_interval is None:
            return CheckResult(scheme.id, "cooldown", decision, last)
        reminder = self.store.last_alert(scheme.id, KIND_REMINDER)
        since = last.window_start
        if reminder and reminder.window_start > since:
            since = reminder.window_start
        if start - since < rule.reminder_interval:
            return CheckResult(scheme.id, "cooldown", decision, last)
        record = self._record(scheme, KIND_REMINDER, f"{scheme.id}:{KIND_REMINDER}:{start.isoformat()}", decision,
                              level, start, now, negative, history_starts, first_alert=last.window_start.isoformat())
        if not self.store.claim_alert(record):
            return CheckResult(scheme.id, "cooldown", decision, last)
        self.notifier.deliver(record, self.store)
        return CheckResult(scheme.id, "reminded", decision, record)

    def _record(self, scheme: Scheme, kind: str, key: str, decision: Decision, level: str, start: datetime,
                now: datetime, negative: dict[datetime, int], history_starts: list[datetime],
                **extra: Any) -> AlertRecord:
        end = start + scheme.alert.window
        payload = self._payload(scheme, start, end, now, negative, history_starts)
        payload["level"] = level
        payload["recipients"] = list(dict.fromkeys([*scheme.recipients, *scheme.level_recipients.get(level, [])]))
        payload.update({k: v for k, v in extra.items() if v is not None})
        return AlertRecord(key=key, scheme_id=scheme.id, kind=kind, window_start=start, window_end=end,
                           count=decision.count, baseline=decision.baseline, threshold=decision.threshold,
                           why=decision.why, payload=payload)

    def _payload(self, scheme: Scheme, start: datetime, end: datetime, now: datetime,
                 negative: dict[datetime, int], history_starts: list[datetime]) -> dict[str, Any]:
        rule, tz = scheme.alert, self.settings.tz
        upto = min(end, now)
        chart_start = start - rule.window * (CHART_WINDOWS - 1)
        totals = self.store.window_counts(start=chart_start, end=upto, window=rule.window, tz=tz, scheme=scheme.id)
        series = []
        for i in range(CHART_WINDOWS):
            w = chart_start + rule.window * i
            series.append({"start": w.isoformat(), "negative": negative.get(w, 0), "total": totals.get(w, 0)})
        window_posts = self.store.find_posts(scheme=scheme.id, label="negative", start=start, end=upto)
        base_posts: list[dict[str, Any]] = []
        for w in history_starts:
            base_posts.extend(self.store.find_posts(scheme=scheme.id, label="negative", start=w, end=w + rule.window))
        total_now = totals.get(start, 0)
        return {
            "scheme_name": scheme.name,
            "window": str(rule.window),
            "unit": rule.count,
            "negative_posts": len(window_posts),
            "total_in_window": total_now,
            "negative_share": round(len(window_posts) / total_now, 3) if total_now else None,
            "series": series,
            "top_terms": spike_terms(window_posts, base_posts, max(1, len(history_starts))),
            "by_source": Counter(p.get("source") or "?" for p in window_posts).most_common(8),
            "by_platform": Counter(platform_zh(p.get("platform")) for p in window_posts).most_common(8),
            "by_category": Counter(p.get("category") or "其他" for p in window_posts).most_common(8),
            "top_stories": self._top_stories(window_posts),
        }

    def _top_stories(self, window_posts: list[dict[str, Any]], k: int = 5) -> list[dict[str, Any]]:
        """The window's negative posts grouped into stories: most posts in the window first, then reach."""
        members: dict[str, list[dict[str, Any]]] = {}
        for p in window_posts:
            members.setdefault(p.get("cluster") or p["id"], []).append(p)
        stories = {s["cluster"]: s for s in self.store.find_stories(clusters=list(members))} if members else {}

        def rank(cluster: str) -> tuple[int, int]:
            return -len(members[cluster]), -int((stories.get(cluster) or {}).get("reach") or 0)

        return [_story_summary(stories.get(c), members[c]) for c in sorted(members, key=rank)[:k]]


def _post_summary(p: dict[str, Any]) -> dict[str, Any]:
    return {"title": p.get("title"), "text": (p.get("text") or "")[:160], "url": p.get("url"),
            "source": p.get("source"), "platform": p.get("platform"), "published_at": p.get("published_at"),
            "reach": sum((p.get("engagement") or {}).values()), "score": (p.get("sentiment") or {}).get("score")}


def _story_summary(story: dict[str, Any] | None, in_window: list[dict[str, Any]]) -> dict[str, Any]:
    """What the e-mail says of one story; a post stored before stories existed stands alone."""
    lead = min(in_window, key=lambda p: p.get("published_at") or "9999")
    summary = {**_post_summary(lead), "posts_in_window": len(in_window), "copies": len(in_window) - 1,
               "category": lead.get("category")}
    if story:
        summary.update({
            "title": story.get("title") or summary["title"], "url": story.get("first_url") or summary["url"],
            "source": story.get("first_source") or summary["source"],
            "published_at": story.get("first_published_at") or summary["published_at"],
            "copies": max(0, int(story.get("size") or 1) - 1), "n_sources": len(story.get("sources") or []),
            "reach": story.get("reach") or summary["reach"], "category": story.get("category") or summary["category"],
            "verification": VERIFICATION_ZH.get(story.get("verification") or ""),
            "verification_reason": story.get("verification_reason"),
            "rumour": RUMOUR_ZH.get(story.get("rumour") or ""), "rumour_reason": story.get("rumour_reason"),
        })
    return summary


def seasonal_period(window: timedelta) -> timedelta:
    """Windows shorter than a day compare with the same hour on earlier days; longer ones with earlier weeks."""
    return timedelta(days=1) if window < timedelta(days=1) else timedelta(weeks=1)


def spike_terms(window_posts: list[dict[str, Any]], baseline_posts: list[dict[str, Any]], baseline_windows: int,
                k: int = 10) -> list[tuple[str, int]]:
    """Keywords that are frequent in the spike window and rarer in the baseline windows."""
    now = Counter(t for p in window_posts for t in set(p.get("keywords") or []))
    before = Counter(t for p in baseline_posts for t in set(p.get("keywords") or []))
    scored = []
    for term, c in now.items():
        if c < 2:
            continue
        expected = before.get(term, 0) / baseline_windows
        scored.append((c * math.log((c + 1) / (expected + 1)), term, c))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [(term, c) for score, term, c in scored[:k] if score > 0]

