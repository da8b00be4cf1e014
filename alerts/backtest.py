"""``yuqing alerts backtest``: replay detection over stored history without sending anything.

The checker runs unchanged, window by window, against the real posts; alert records
live in memory only (a shadow of the store's alert table), and nothing is delivered.
Analysts see what would have fired, what the cooldown would have suppressed, and why
(field report B23), and tune thresholds with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alerts.checker import AlertChecker, CheckResult
from pipeline.config import Scheme, Settings
from pipeline.store import AlertRecord, Store
from pipeline.timeutil import window_start


class ShadowAlerts:
    """Reads posts from the real store; keeps alert records in memory."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._alerts: dict[str, AlertRecord] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def claim_alert(self, alert: AlertRecord) -> bool:
        if alert.key in self._alerts:
            return False
        self._alerts[alert.key] = alert
        return True

    def last_alert(self, scheme_id: str, kind: str) -> AlertRecord | None:
        mine = [a for a in self._alerts.values() if a.scheme_id == scheme_id and a.kind == kind]
        return mine[-1] if mine else None

    def set_alert_status(self, key: str, status: str, detail: str = "") -> None:
        pass

    def alerts(self, status: str | None = None) -> list[AlertRecord]:
        return list(self._alerts.values())


class SilentNotifier:
    def deliver(self, record: AlertRecord, store: Any) -> str:
        return "dry-run"

    def retry_undelivered(self, store: Any, now: datetime | None = None) -> int:
        return 0


@dataclass
class BacktestReport:
    results: list[tuple[datetime, CheckResult]] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(r.outcome for _, r in self.results)


def backtest(settings: Settings, store: Store, scheme: Scheme, since: datetime, until: datetime,
             wrap: Callable[[Iterable[datetime]], Iterable[datetime]] | None = None) -> BacktestReport:
    """``wrap`` wraps the window ends (the CLI's progress bar)."""
    checker = AlertChecker(settings, ShadowAlerts(store), SilentNotifier(), dry_run=True)  # type: ignore[arg-type]
    window = scheme.alert.window
    ends = []
    t = window_start(since, window, settings.tz) + window
    while t <= until + window:
        ends.append(t)
        t += window
    report = BacktestReport()
    for t in wrap(ends) if wrap else ends:
        report.results.append((t - window, checker.check_scheme(scheme, t - timedelta(seconds=1))))
    return report
