"""Spike detection: pure functions over count series, no I/O, no clock.

The baseline is the median of recent windows that had data, so one earlier burst does
not raise the bar for long; the threshold must clear the median by a ratio, by a
scaled MAD (robust spread) and by a Poisson deviation (so small counts are not alarms).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from pipeline.config import AlertRule

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Decision:
    fired: bool
    count: int
    baseline: float
    threshold: float
    history: int
    why: str


def spike_threshold(history: Sequence[int], rule: AlertRule) -> tuple[float, float]:
    """(baseline, threshold) for a history of per-window counts."""
    base = float(median(history))
    mad = float(median(abs(x - base) for x in history))
    threshold = max(
        float(rule.min_count),
        base * rule.min_ratio,
        base + rule.mad_k * MAD_TO_SIGMA * mad,
        base + rule.poisson_z * math.sqrt(max(base, 1.0)),
    )
    return base, threshold


def detect_spike(current: int, history: Sequence[int], rule: AlertRule) -> Decision:
    """Does ``current`` spike against ``history`` (older windows, any order)?

    Too little history (cold start) never fires; neither does a count below
    ``min_count``, so 0 against 0 is calm.
    """
    if len(history) < rule.min_history:
        return Decision(False, current, 0.0, math.inf, len(history),
                        f"预热期：仅有 {len(history)} 个历史窗口（需要 {rule.min_history} 个）")
    base, threshold = spike_threshold(history, rule)
    fired = current >= threshold
    relation = "≥" if fired else "<"
    unit = "个事件" if rule.count == "stories" else "条"
    why = (f"负面 {current} {unit} {relation} 阈值 {threshold:.1f}（基线中位数 {base:.1f}，"
           f"{len(history)} 个历史窗口；阈值取 最少 {rule.min_count} {unit}、基线×{rule.min_ratio:g}、"
           f"基线+{rule.mad_k:g}×MAD、基线+{rule.poisson_z:g}×√基线 中的最大值）")
    return Decision(fired, current, base, threshold, len(history), why)


def severity(count: int, threshold: float, levels: dict[str, float]) -> str:
    """The highest level whose multiple of the threshold ``count`` reaches (levels ascend)."""
    reached = [name for name, multiple in levels.items() if count >= threshold * multiple]
    return reached[-1] if reached else next(iter(levels))


def level_rank(level: str | None, levels: dict[str, float]) -> int:
    names = list(levels)
    return names.index(level) if level in names else -1


def detect_share_jump(negative: int, total: int, history: Sequence[tuple[int, int]], rule: AlertRule) -> Decision:
    """Does the negative share of this window jump above the baseline share?

    ``history`` holds (negative, total) of earlier windows; windows with no posts do not count.
    ``count`` and ``baseline``/``threshold`` in the decision are percentages.
    """
    shares = [n / t for n, t in history if t > 0]
    jump = rule.share_jump or 0.0
    if len(shares) < rule.min_history:
        return Decision(False, negative, 0.0, math.inf, len(shares),
                        f"预热期：仅有 {len(shares)} 个历史窗口（需要 {rule.min_history} 个）")
    base = float(median(shares))
    share = negative / total if total else 0.0
    fired = rule.share_jump is not None and total >= rule.share_min_total and share >= base + jump
    why = (f"负面占比 {share:.0%}（{negative}/{total}）{'≥' if fired else '<'} 阈值 {min(base + jump, 1):.0%}"
           f"（基线占比中位数 {base:.0%} + {jump:.0%}；窗口内至少 {rule.share_min_total} 条）")
    return Decision(fired, round(share * 100), round(base * 100, 1), round(min(base + jump, 1) * 100, 1),
                    len(shares), why)
