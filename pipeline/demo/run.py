"""``make demo`` / ``yuqing demo``: the main job, end to end, on the embedded default.

1. The replay site serves the bundled real posts on 127.0.0.1:8765 (RSS + Weibo API).
2. The real spiders crawl it; the Processor analyses every post into the SQLite store.
3. The alert checker backtests day by day over the stored (real) dates, so spikes are
   found where they happened; their e-mails land in the outbox (and go out by SMTP when
   configured).
"""

from __future__ import annotations

import time
from pathlib import Path

from pipeline.config import Settings
from pipeline.crawl import run_crawl
from pipeline.demo.site import ReplaySite
from pipeline.errors import YuqingError
from pipeline.progress import CrawlProgress
from pipeline.store import store_for

DEMO_SOURCES = ["demo-hot-search", "demo-weibo-search"]
DEMO_PORT = 8765


def run_demo(settings: Settings) -> int:
    from alerts.checker import AlertChecker
    from alerts.notify import Notifier
    from pipeline.cli import replay

    started = time.time()
    try:
        site = ReplaySite(DEMO_PORT)
    except OSError as exc:
        raise YuqingError(f"cannot serve the demo site on 127.0.0.1:{DEMO_PORT} ({exc}); "
                          "is another demo running?") from None
    with site:
        print(f"replay site: {site.url} (RSS: /rss/hot-search.xml, Weibo API: /api/container/getIndex)", flush=True)
        stats = run_crawl(settings, DEMO_SOURCES, progress=CrawlProgress(), LOG_LEVEL="WARNING")
    crawled_at = time.time()
    store = store_for(settings)
    try:
        results = replay(AlertChecker(settings, store, Notifier(settings)), settings, store)
        summary = store.stats()
        span = store.time_range()
    finally:
        store.close()
    fired = [r.alert for r in results if r.outcome == "fired" and r.alert]
    scraped = sum(s.get("item_scraped_count", 0) for s in stats.values())
    errors = sum(v for s in stats.values() for k, v in s.items()
                 if k.startswith("yuqing/source_errors/") and k.count("/") == 2)
    print()
    print("yuqing demo summary")
    per_spider = ", ".join(f"{k}: {v.get('item_scraped_count', 0)}" for k, v in stats.items())
    print(f"  posts crawled:   {scraped} ({per_spider})")
    inserted = sum(v.get("yuqing/store/inserted", 0) for v in stats.values())
    updated = sum(v.get("yuqing/store/updated", 0) for v in stats.values())
    print(f"  posts stored:    {summary['posts']} in {settings.app.store} (this run: {inserted} new, {updated} "
          "updated; posts with the same URL or id as another are one post)")
    if span:
        lo, hi = (t.astimezone(settings.tz) for t in span)
        print(f"  published:       {lo:%Y-%m-%d} … {hi:%Y-%m-%d} (backtested day by day)")
    print(f"  by sentiment:    {', '.join(f'{k} {v}' for k, v in summary['by_sentiment'].items())}")
    print(f"  by scheme:       {', '.join(f'{k} {v}' for k, v in summary['by_scheme'].items()) or 'none'}")
    flagged = ", ".join(f"{k} {v}" for k, v in summary.get("stories_flagged", {}).items()) or "none flagged"
    print(f"  stories:         {summary.get('stories', 0)} (copies and reposts grouped; {flagged})")
    print(f"  by category:     {', '.join(f'{k} {v}' for k, v in summary.get('by_category', {}).items())}")
    print(f"  source errors:   {errors}")
    reasons = {k: v.get("finish_reason") for k, v in stats.items()}
    peak = max((v.get("memusage/max", 0) for v in stats.values()), default=0) / 2**20
    print(f"  crawl finished:  {', '.join(f'{k}: {r}' for k, r in reasons.items())}; peak memory {peak:.0f} MiB")
    stored_alerts = sum(summary["alerts"].values())
    earlier = (f"; {stored_alerts - len(fired)} from earlier runs are in the store and not sent again"
               if stored_alerts > len(fired) else "")
    print(f"  alerts raised:   {len(fired)} now{earlier}")
    for a in fired:
        print(f"    - {a.payload.get('scheme_name')} ({a.scheme_id}) {a.window_start:%Y-%m-%d}: "
              f"{a.count} negative {a.payload.get('unit', 'posts')} ({a.payload.get('negative_posts', a.count)} posts) "
              f"vs baseline {a.baseline:.1f} (threshold {a.threshold:.1f})")
    print(f"  alert e-mails:   {Path(settings.app.outbox).resolve()}/*.eml")
    print(f"  time:            crawl+analyse {crawled_at - started:.0f}s, alerts {time.time() - crawled_at:.0f}s")
    print("  next:            .venv/bin/yuqing stats · .venv/bin/yuqing stories · "
          ".venv/bin/yuqing alerts check --replay")
    return 0 if all(r == "finished" for r in reasons.values()) else 1
