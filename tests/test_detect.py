"""Spike detection as pure functions (part of field report B18)."""

from alerts.detect import detect_spike
from pipeline.config import AlertRule

RULE = AlertRule(window="1h", baseline_windows=7, min_history=3, min_count=20, min_ratio=3)


def test_zero_against_zero_is_calm() -> None:
    assert not detect_spike(0, [0, 0, 0], RULE).fired


def test_clear_spike_fires_and_explains_itself() -> None:
    d = detect_spike(40, [2, 3, 2], RULE)
    assert d.fired
    assert d.baseline == 2
    assert d.threshold == 20  # min_count dominates small baselines
    assert "40" in d.why and "20.0" in d.why


def test_cold_start_never_fires() -> None:
    d = detect_spike(1000, [0], RULE)
    assert not d.fired
    assert "预热" in d.why


def test_small_counts_stay_below_min_count() -> None:
    assert not detect_spike(1, [0, 0, 0, 0], RULE).fired


def test_noisy_history_raises_the_bar() -> None:
    calm = detect_spike(45, [20, 22, 21, 19, 20], RULE)
    assert not calm.fired  # 45 < 3 × median 20
    assert detect_spike(61, [20, 22, 21, 19, 20], RULE).fired


def test_one_past_burst_does_not_poison_the_baseline() -> None:
    assert detect_spike(30, [2, 3, 2, 200, 3], RULE).fired
