"""The ``yuqing`` command.

Every subcommand takes ``--config PATH`` (default ``config/yuqing.yaml``); the
environment variable ``YUQING_STORE`` overrides the store URL.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from nlp.cli_args import positive_int
from pipeline.config import DEFAULT_CONFIG, Settings, Source, load_settings
from pipeline.errors import YuqingError, open_input

if TYPE_CHECKING:
    from pipeline.importer import ImportReport

log = logging.getLogger("yuqing")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_crawl(args: argparse.Namespace) -> int:
    from pipeline.crawl import run_crawl

    settings = _settings(args)
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise YuqingError(f"--set {item!r}: use NAME=VALUE, e.g. --set CLOSESPIDER_PAGECOUNT=100")
        overrides[key] = value
    chosen = [settings.source(n) for n in args.sources] if args.sources else [s for s in settings.sources if s.enabled]
    failed = _import_channels(settings, [s for s in chosen if s.spider == "jsonl"])
    from pipeline.progress import CrawlProgress

    stats = run_crawl(settings, args.sources or None, progress=CrawlProgress(args.quiet), **overrides)
    for spider, s in stats.items():
        errors = {k.split("/", 2)[2]: v for k, v in s.items() if k.startswith("yuqing/source_errors/")
                  and k.count("/") == 2}
        print(f"{spider}: {s.get('item_scraped_count', 0)} items, "
              f"{s.get('yuqing/store/inserted', 0)} new, {s.get('yuqing/store/updated', 0)} updated"
              + (f", source errors: {errors}" if errors else "")
              + (f", {s['yuqing/store/spooled']} spooled (store unavailable)" if s.get("yuqing/store/spooled") else "")
              + (f", {s['yuqing/store/dead_lettered']} rejected by the store (see the dead-letter file)"
                 if s.get("yuqing/store/dead_lettered") else ""))
        failed += s.get("yuqing/store/spooled", 0)
        if errors and not s.get("item_scraped_count"):
            failed += 1  # every source of this spider failed
        if s.get("finish_reason") != "finished":
            print(f"{spider}: crawl stopped early: {s.get('finish_reason')}")
            failed += 1
    return 1 if failed else 0


def _import_channels(settings: Settings, sources: list[Source]) -> int:
    """Import the exports of jsonl sources (so `yuqing serve` reads internal channels on their
    schedule); an export that cannot be read is a source-health event. Returns the failures."""
    if not sources:
        return 0
    from crawlers.dates import now_shanghai
    from pipeline.importer import ImportSpec, import_jsonl
    from pipeline.processor import Processor
    from pipeline.store import store_for

    failed = 0
    processor = Processor(settings)
    store = store_for(settings)
    try:
        for source in sources:
            try:
                report = import_jsonl(Path(source.path), processor, store, now_shanghai(),
                                      ImportSpec.for_source(source))
            except YuqingError as exc:
                logging.getLogger(__name__).error("source %s: NOT_FOUND: %s", source.name, exc)
                store.record_health(source.name, "NOT_FOUND", str(exc))
                print(f"jsonl {source.name}: {exc}")
                failed += 1
                continue
            _print_import(source.path, report)
            if report.bad_lines:
                store.record_health(source.name, "MALFORMED", f"{len(report.bad_lines)} bad lines in {source.path}, "
                                                              f"first: line {report.bad_lines[0][0]}: "
                                                              f"{report.bad_lines[0][1]}")
    finally:
        store.close()
    return failed


def _print_import(file: str, report: ImportReport) -> None:
    if report.encoding != "utf-8":
        print(f"{file}: not UTF-8; read as {report.encoding.upper()} (GBK exports are)", file=sys.stderr)
    for number, why in report.bad_lines[:50]:
        print(f"{file}:{number}: skipped: {why}", file=sys.stderr)
    if len(report.bad_lines) > 50:
        print(f"... and {len(report.bad_lines) - 50} more bad lines", file=sys.stderr)
    dropped = "".join(f", {n} dropped ({why})" for why, n in report.batch.dropped.items())
    print(f"{file}: {report.lines} lines, {len(report.bad_lines)} bad, {report.batch.kept} analysed{dropped}, "
          f"{report.written.inserted} new, {report.written.updated} updated")
    if report.batch.dropped.get("duplicate_id"):
        print("  duplicate_id: lines with an id (or URL) already seen in this file; the later line was kept",
              file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> int:
    from crawlers.dates import now_shanghai
    from pipeline.importer import ImportSpec, import_jsonl, parse_mapping
    from pipeline.processor import Processor
    from pipeline.progress import progress
    from pipeline.store import store_for

    settings = _settings(args)
    mapping = parse_mapping(args.map)
    spec: ImportSpec | dict[str, str] = mapping
    if args.source:
        source = settings.source(args.source)
        if source.spider != "jsonl":
            raise YuqingError(f"--source {args.source}: a {source.spider} source; `yuqing import` reads "
                              "jsonl sources (spider: jsonl)")
        base = ImportSpec.for_source(source)
        spec = ImportSpec({**base.mapping, **mapping}, base.time_format, base.zone, base.platform, base.source)
        args.file = args.file or source.path
    if not args.file:
        raise YuqingError("import: give a FILE, or --source NAME of a jsonl source in sources.yaml")
    path = Path(args.file)
    total = _count_lines(path)
    store = store_for(settings)
    try:
        report = import_jsonl(path, Processor(settings), store, now_shanghai(), spec,
                              wrap=lambda raws: progress(raws, total=total, desc="import", quiet=args.quiet))
    finally:
        store.close()
    _print_import(args.file, report)
    return 0 if report.lines and not report.bad_lines else (0 if report.batch.kept else 1)


def _count_lines(path: Path) -> int | None:
    """Lines in a file, for the progress bar's total (None when it cannot be read: import says why)."""
    try:
        with path.open("rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    except OSError:
        return None


def cmd_export(args: argparse.Namespace) -> int:
    from pipeline.export import FORMATS, export_posts
    from pipeline.frame import post_filter
    from pipeline.progress import progress
    from pipeline.store import store_for

    settings = _settings(args)
    if args.scheme:
        settings.scheme(args.scheme)  # an unknown id is an error naming the known ones
    fmt = args.format
    if fmt is None:
        suffix = Path(args.output).suffix.lstrip(".").lower() if args.output and args.output != "-" else ""
        fmt = suffix if suffix in FORMATS else "csv"
    flt = post_filter(settings.tz, scheme=args.scheme, since=args.since, until=args.until, sentiment=args.sentiment)
    if args.output == "-":
        out = None
    elif args.output:
        out = Path(args.output)
    else:
        # The days the file covers, in Beijing time: an inclusive `--until 2020-04-30` is the exclusive
        # end 2020-05-01 00:00, and the name must say 20200430.
        first = flt.start.astimezone(settings.tz)
        last = (flt.end - timedelta(microseconds=1)).astimezone(settings.tz) if flt.end else None
        stamp = f"{first:%Y%m%d}-{last:%Y%m%d}" if last else f"{first:%Y%m%d}"
        out = Path(f"yuqing-{args.scheme or 'all'}-{stamp}.{fmt}")
    store = store_for(settings, create=False)
    try:
        total = store.count_matching(flt)
        result = export_posts(store, flt, fmt, out, tz=settings.tz,
                              scheme_names={s.id: s.name for s in settings.schemes},
                              wrap=lambda posts: progress(posts, total=total, desc="export", quiet=args.quiet))
    finally:
        store.close()
    cut = f"; {result.cut_cells} text cell(s) cut at Excel's 32,767 characters" if result.cut_cells else ""
    print(f"{out or 'stdout'}: {result.rows} posts ({fmt}) in {result.seconds:.1f}s{cut}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import time

    from pipeline.frame import post_filter
    from pipeline.report import write_report
    from pipeline.store import store_for

    started = time.perf_counter()
    settings = _settings(args)
    settings.scheme(args.scheme)  # an unknown id is an error naming the known ones
    flt = post_filter(settings.tz, since=args.since, until=args.until)
    store = store_for(settings, create=False)
    try:
        paths = write_report(settings, store, args.scheme, flt.start, flt.end, Path(args.output))
    except OSError as exc:  # -o names a file, a read-only place, a missing drive
        raise YuqingError(f"-o {args.output}: cannot write the report there: {exc.strerror or exc}") from None
    finally:
        store.close()
    for kind in ("html", "pdf", "png"):
        print(paths[kind])
    print(f"舆情报告 {args.scheme} {flt.start:%Y-%m-%d} … {flt.end - timedelta(seconds=1):%Y-%m-%d}: "
          f"{time.perf_counter() - started:.1f}s", file=sys.stderr)
    return 0


def cmd_alerts_check(args: argparse.Namespace) -> int:
    from alerts.checker import AlertChecker
    from alerts.notify import Notifier
    from crawlers.dates import now_shanghai
    from pipeline.store import store_for

    settings = _settings(args)
    store = store_for(settings, create=False)
    try:
        checker = AlertChecker(settings, store, Notifier(settings))
        if args.replay:
            results = replay(checker, settings, store)
        else:
            now = datetime.fromisoformat(args.now) if args.now else now_shanghai()
            if now.tzinfo is None:
                now = now.replace(tzinfo=settings.tz)
            results = checker.check(now)
    finally:
        store.close()
    fired = [r for r in results if r.outcome == "fired"]
    for r in fired:
        a = r.alert
        print(f"ALERT {a.scheme_id} {a.window_start:%Y-%m-%d %H:%M} negative={a.count} "
              f"baseline={a.baseline:.1f} threshold={a.threshold:.1f}")
    if not args.replay:
        for r in results:
            if r.outcome != "fired":
                print(f"{r.scheme_id}: {r.outcome}: {r.decision.why}")
    print(f"{len(fired)} alert(s) raised")
    return 0


def cmd_alerts_backtest(args: argparse.Namespace) -> int:
    from alerts.backtest import backtest
    from pipeline.progress import progress
    from pipeline.store import store_for

    settings = _settings(args)
    store = store_for(settings, create=False)
    try:
        span = store.time_range()
        if span is None:
            print("the store holds no posts")
            return 0
        tz = settings.tz
        since, until = _span(args.since, args.until, tz)
        since, until = since or span[0], until or span[1]
        schemes = [settings.scheme(args.scheme)] if args.scheme else settings.schemes
        for scheme in schemes:
            report = backtest(settings, store, scheme, since, until,
                              wrap=lambda ends, s=scheme: progress(ends, total=len(ends), desc=s.id, unit="window",
                                                                   quiet=args.quiet))
            hours = scheme.alert.window.total_seconds() / 3600
            window = f"{hours / 24:g} day(s)" if hours >= 24 else f"{hours:g} hour(s)"
            print(f"== {scheme.name} ({scheme.id}): window {window}, {len(report.results)} windows")
            for start, r in report.results:
                if r.outcome in ("fired", "reminded", "cooldown"):
                    level = r.alert.payload.get("level", "") if r.alert and r.outcome != "cooldown" else ""
                    print(f"  {start.astimezone(tz):%Y-%m-%d %H:%M}  {r.outcome:<9} {level:<3} "
                          f"negative={r.decision.count} baseline={r.decision.baseline:.1f} "
                          f"threshold={r.decision.threshold:.1f}")
            c = report.counts()
            print(f"  would fire {c['fired']}, remind {c['reminded']}; {c['cooldown']} window(s) above the "
                  f"threshold suppressed by the cooldown ({scheme.alert.cooldown.total_seconds() / 3600:g} h); "
                  f"{c['warmup']} in warm-up")
    finally:
        store.close()
    return 0


def _span(since: str | None, until: str | None, tz) -> tuple[datetime | None, datetime | None]:
    """--since/--until as times; an empty or reversed range is an error, not an empty answer."""
    start = _day(since, tz) if since else None
    end = _day(until, tz) if until else None
    if start and end and end <= start:
        raise YuqingError(f"--until {until} is not after --since {since}")
    return start, end


def _day(text: str, tz) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise YuqingError(f"{text!r} is not a date or time; use YYYY-MM-DD or ISO 8601") from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def replay(checker, settings: Settings, store) -> list:
    """Backtest: run the checker at the end of every day of stored history, oldest first."""
    from datetime import timedelta

    from pipeline.timeutil import window_start

    span = store.time_range()
    if span is None:
        return []
    day = timedelta(days=1)
    t = window_start(span[0], day, settings.tz) + day
    last = span[1]
    results = []
    while t <= last + day:
        results.extend(checker.check(t - timedelta(seconds=1)))
        t += day
    return results


def cmd_stats(args: argparse.Namespace) -> int:
    from pipeline.store import store_for

    settings = _settings(args)
    store = store_for(settings, create=False)
    try:
        stats = store.stats()
        span = store.time_range()
    finally:
        store.close()
    if span:  # in the analysts' zone, like every other time the commands print
        stats["published"] = {"from": span[0].astimezone(settings.tz).isoformat(),
                              "to": span[1].astimezone(settings.tz).isoformat()}
    print(json.dumps(stats, ensure_ascii=False, indent=2))
    return 0


def cmd_stories(args: argparse.Namespace) -> int:
    """The biggest stories (near-duplicate groups) of a period, with their flags."""
    from pipeline.store import store_for
    from pipeline.stories import RUMOUR_ZH, VERIFICATION_ZH
    from pipeline.timeutil import fmt_local, parse_utc

    settings = _settings(args)
    if args.scheme:
        settings.scheme(args.scheme)  # an unknown id is an error, not an empty list
    tz = settings.tz
    start, end = _span(args.since, args.until, tz)
    store = store_for(settings, create=False)
    try:
        stories = store.find_stories(scheme=args.scheme, start=start, end=end, min_size=args.min_size,
                                     rumour=args.rumour, limit=args.limit, order=args.order)
    finally:
        store.close()
    if args.json:
        print(json.dumps(stories, ensure_ascii=False, indent=2))
        return 0
    for s in stories:
        first = fmt_local(parse_utc(s["first_published_at"]), tz) if s.get("first_published_at") else "时间未知"
        flag = f"  ⚠ {RUMOUR_ZH[s['rumour']]}：{s['rumour_reason']}" if s.get("rumour") else ""
        print(f"{first}  {s['size']:>4} 条 {len(s['sources']):>3} 源  负面 {s['negative']:>4}  "
              f"{VERIFICATION_ZH.get(s['verification'], '?')}  [{s.get('category') or '其他'}]  {s['title']}{flag}")
    more = f" shown, the first {args.limit} by --order {args.order}; raise --limit for more" \
        if len(stories) == args.limit else ""
    print(f"{len(stories)} story(ies){more}")
    return 0


def cmd_sentiment(args: argparse.Namespace) -> int:
    from pipeline.processor import load_classifier

    settings = _settings(args)
    clf = load_classifier(settings)
    if args.texts and args.texts[0] == "eval":
        return _sentiment_eval(clf, args)
    for text, result in zip(args.texts, clf.predict(args.texts), strict=True):
        # chunks/truncated say how a long text was read; an empty text has label null and 0 chunks
        print(json.dumps({"text": text, "label": result.label, "score": round(result.score, 4),
                          "uncertain": result.uncertain, "chunks": result.chunks, "truncated": result.truncated},
                         ensure_ascii=False))
    return 0


def _sentiment_eval(clf, args: argparse.Namespace) -> int:
    """Labels: 0/negative/负面, 1/positive/正面, 2/neutral/中性. Rows with empty text are skipped."""
    import csv

    from nlp.clean import model_input
    from nlp.corpora import LABEL_HELP, parse_label
    from nlp.evaluate import metrics

    if len(args.texts) != 2:
        raise YuqingError("usage: yuqing sentiment eval FILE.csv [--text-col text] [--label-col label]")
    path = Path(args.texts[1])
    texts, gold, empty = [], [], 0
    try:
        with open_input(path, "a .csv file", encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames:
                raise YuqingError(f"{path}: the file is empty (expected a header row with "
                                  f"{args.text_col!r} and {args.label_col!r})")
            twice = sorted({c for c in reader.fieldnames if reader.fieldnames.count(c) > 1})
            if twice:
                raise YuqingError(f"{path}: column(s) {', '.join(map(repr, twice))} appear more than once "
                                  "in the header; which one holds the labels?")
            for col in (args.text_col, args.label_col):
                if col not in (reader.fieldnames or []):
                    raise YuqingError(f"{path}: no column {col!r}; columns: {', '.join(reader.fieldnames or [])}")
            for line, row in enumerate(reader, start=2):
                if row[args.label_col] is None:
                    raise YuqingError(f"{path}:{line}: no {args.label_col!r} value (the row has fewer fields "
                                      "than the header, or an unclosed quote runs into it)")
                label = parse_label(row[args.label_col])
                if label is None:
                    raise YuqingError(f"{path}:{line}: label {row[args.label_col]!r} is not {LABEL_HELP}")
                if not model_input(row[args.text_col] or ""):  # empty, or only markup/whitespace
                    empty += 1
                    continue
                texts.append(row[args.text_col])
                gold.append(label)
    except UnicodeDecodeError as exc:
        raise YuqingError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start}); save the CSV as UTF-8") from None
    if empty:
        print(f"{path}: {empty} row(s) with empty text (or only markup/whitespace) skipped", file=sys.stderr)
    if not texts:
        raise YuqingError(f"{path}: no labelled rows to evaluate")
    print(json.dumps(metrics(gold, clf.predict(texts)), ensure_ascii=False))
    return 0


def cmd_es_setup(args: argparse.Namespace) -> int:
    from pipeline.store import store_for
    from pipeline.store.elastic import ElasticStore

    settings = _settings(args)
    store = store_for(settings)
    try:
        if not isinstance(store, ElasticStore):
            raise YuqingError(f"store is {settings.app.store!r}; `es setup` needs an http(s):// Elasticsearch URL "
                              "(set `store:` in yuqing.yaml or YUQING_STORE)")
        for step in store.setup():
            print(f"installed {step}")
        print(f"{settings.app.store}: ready (alias yuqing-posts, monthly indices yuqing-posts-YYYY.MM)")
    finally:
        store.close()
    return 0


def cmd_kibana_setup(args: argparse.Namespace) -> int:
    from pipeline.kibana import import_saved_objects

    settings = _settings(args)
    url = args.url or settings.app.kibana_url
    if not url:
        raise YuqingError("no Kibana URL: pass --url or set kibana_url in yuqing.yaml")
    result = import_saved_objects(url, settings.resolve("kibana/yuqing.ndjson"), settings.app.elasticsearch)
    print(f"{url}: imported {result['successCount']} saved objects (dashboard 舆情总览)")
    return 0


def cmd_briefing(args: argparse.Namespace) -> int:
    from datetime import date, timedelta

    from alerts.briefing import send_briefing
    from alerts.notify import Notifier
    from crawlers.dates import now_shanghai
    from pipeline.store import store_for

    settings = _settings(args)
    today = now_shanghai().astimezone(settings.tz).date()
    try:
        day = date.fromisoformat(args.date) if args.date else today - timedelta(days=1)
    except ValueError:
        raise YuqingError(f"--date {args.date!r} is not a date; use YYYY-MM-DD") from None
    if day > today:
        raise YuqingError(f"--date {day}: that day has not happened yet (today is {today} in {settings.tz.key})")
    store = store_for(settings, create=False)
    try:
        status = send_briefing(settings, store, Notifier(settings), day, force=args.force)
    finally:
        store.close()
    print(f"舆情日报 {day}: {status}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from alerts.service import serve

    return serve(_settings(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo.run import run_demo

    return run_demo(_settings(args))


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="yuqing", description="Self-hosted public-opinion monitoring.")
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="yuqing.yaml (default: %(default)s)")
    # `--config` is accepted after the subcommand too (`yuqing crawl --config x.yaml`)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="yuqing.yaml")
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("crawl", parents=[common], help="crawl sources (default: every enabled source)")
    p.add_argument("sources", nargs="*", metavar="SOURCE")
    p.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a Scrapy setting for this crawl, e.g. -s CLOSESPIDER_PAGECOUNT=100")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar (Scrapy logs at its usual level)")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("import", parents=[common], help="import a JSON Lines export")
    p.add_argument("file", nargs="?", help="the export (default with --source: the source's `path`)")
    p.add_argument("--source", metavar="NAME",
                   help="a jsonl source in sources.yaml: its mapping, time format and zone (and path)")
    p.add_argument("--map", action="append", default=[], metavar="OURS=THEIRS",
                   help="field mapping, e.g. --map text=content --map published_at=time")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", parents=[common], help="posts as CSV (utf-8-sig, for Excel), XLSX or JSON Lines")
    p.add_argument("--scheme", help="one scheme id (default: every post)")
    p.add_argument("--since", required=True, help="YYYY-MM-DD or 'YYYY-MM-DD HH:MM', Beijing time unless given")
    p.add_argument("--until", help="the last day (inclusive) or an exclusive time (default: now)")
    p.add_argument("--sentiment", choices=["negative", "neutral", "positive"], help="only this sentiment")
    p.add_argument("--format", choices=["csv", "xlsx", "jsonl"], help="default: from -o's suffix, else csv")
    p.add_argument("-o", "--output", help="file to write ('-' for stdout; default: yuqing-SCHEME-DATES.FORMAT)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", parents=[common], help="the period report (舆情报告) as HTML and PDF")
    p.add_argument("--scheme", required=True, help="scheme id")
    p.add_argument("--since", required=True, help="first day, YYYY-MM-DD (Beijing time)")
    p.add_argument("--until", required=True, help="last day, YYYY-MM-DD (inclusive)")
    p.add_argument("-o", "--output", default="reports", help="folder for the files (default: %(default)s)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("alerts", help="alert checks")
    asub = p.add_subparsers(dest="alerts_command", required=True)
    c = asub.add_parser("check", parents=[common], help="check every scheme now and send alerts")
    c.add_argument("--now", help="check as of this time (ISO 8601; default: the clock)")
    c.add_argument("--replay", action="store_true",
                   help="run the checker at the end of every stored day, oldest first (sends what is new)")
    c.set_defaults(func=cmd_alerts_check)

    b = asub.add_parser("backtest", parents=[common], help="replay detection over stored history; sends nothing")
    b.add_argument("--scheme", help="one scheme id (default: all)")
    b.add_argument("--since", help="YYYY-MM-DD (default: the oldest post)")
    b.add_argument("--until", help="YYYY-MM-DD (default: the newest post)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_alerts_backtest)

    p = sub.add_parser("es", help="Elasticsearch")
    esub = p.add_subparsers(dest="es_command", required=True)
    e = esub.add_parser("setup", parents=[common],
                        help="install the index template, ILM policy and indices (idempotent)")
    e.set_defaults(func=cmd_es_setup)

    p = sub.add_parser("kibana", help="Kibana")
    ksub = p.add_subparsers(dest="kibana_command", required=True)
    k = ksub.add_parser("setup", parents=[common], help="import the data view, searches, visualisations and dashboard")
    k.add_argument("--url", help="Kibana base URL (default: kibana_url in yuqing.yaml)")
    k.set_defaults(func=cmd_kibana_setup)

    p = sub.add_parser("stats", parents=[common], help="what the store holds")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("stories", parents=[common], help="stories (near-duplicate groups) with verification and flags")
    p.add_argument("--scheme", help="one scheme id (default: all)")
    p.add_argument("--since", help="YYYY-MM-DD or ISO 8601, Asia/Shanghai unless a zone is given")
    p.add_argument("--until", help="YYYY-MM-DD or ISO 8601 (exclusive)")
    p.add_argument("--rumour", choices=["unverified", "disputed"], help="only stories with this flag")
    p.add_argument("--min-size", type=positive_int, default=1, help="only stories with at least this many posts")
    p.add_argument("--order", choices=["reach", "negative", "recent"], default="reach")
    p.add_argument("--limit", type=positive_int, default=20)
    p.add_argument("--json", action="store_true", help="print the stories as JSON")
    p.set_defaults(func=cmd_stories)

    p = sub.add_parser("sentiment", parents=[common], help='classify texts, or "sentiment eval FILE.csv"',
                       description='yuqing sentiment "文本" … prints label and score per text; '
                                   'yuqing sentiment eval FILE.csv [--text-col C] [--label-col L] scores a labelled '
                                   'CSV (labels 0/negative/负面, 1/positive/正面, 2/neutral/中性) and prints one JSON '
                                   'object: n, accuracy, macro_f1, per_class, confusion, binary_accuracy.')
    p.add_argument("texts", nargs="+")
    p.add_argument("--text-col", default="text")
    p.add_argument("--label-col", default="label")
    p.set_defaults(func=cmd_sentiment)

    p = sub.add_parser("briefing", parents=[common], help="send the daily briefing (舆情日报)")
    p.add_argument("--date", help="the day to report (YYYY-MM-DD; default: yesterday, Beijing time)")
    p.add_argument("--force", action="store_true", help="send again even if already sent")
    p.set_defaults(func=cmd_briefing)

    p = sub.add_parser("serve", parents=[common], help="run crawls and alert checks on their schedule (APScheduler)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", parents=[common], help="crawl the bundled replay site, analyse, store and check alerts")
    p.set_defaults(func=cmd_demo)
    return ap


def main(argv: list[str] | None = None) -> int:
    if hasattr(sys.stdout, "reconfigure"):  # a GBK console must not crash on emoji (B10)
        sys.stdout.reconfigure(errors="backslashreplace")
        sys.stderr.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("matplotlib", "PIL", "urllib3", "filelock", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except YuqingError as exc:
        print(f"yuqing: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `yuqing stories | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
