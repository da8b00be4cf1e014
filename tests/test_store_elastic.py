"""The Elasticsearch store against a real ES-API server process (osmem-server)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alerts.checker import AlertChecker
from alerts.notify import Notifier
from pipeline.config import ElasticConfig, load_settings
from pipeline.errors import StoreUnavailable
from pipeline.spool import Spool
from pipeline.store import AlertRecord
from pipeline.store.elastic import ElasticStore, index_for
from tests.conftest import _free_port, write_config
from tests.test_checker import SCHEMES, add_posts, day
from tests.test_store_sqlite import check_leases, post

TZ = ZoneInfo("Asia/Shanghai")


def make_store(url: str, tmp_path: Path, **kw) -> ElasticStore:
    config = ElasticConfig(compat="opensearch", dead_letter=str(tmp_path / "dead.jsonl"), **kw)
    store = ElasticStore(url, config)
    store.setup()
    return store


@pytest.fixture
def es(osmem_url: str, tmp_path: Path) -> ElasticStore:
    store = make_store(osmem_url, tmp_path)
    yield store
    store.close()


def test_setup_is_idempotent(es: ElasticStore) -> None:
    assert es.setup() == ["index template yuqing-posts"]  # nothing else left to create
    template = es.es.indices.get_index_template(name="yuqing-posts")["index_templates"][0]
    assert template["index_template"]["template"]["mappings"]["dynamic"] == "strict"


def test_monthly_index_follows_beijing_month() -> None:
    assert index_for("2024-04-30T16:30:00Z") == "yuqing-posts-2024.05"  # 2024-05-01 00:30 in Beijing
    assert index_for(None) == "yuqing-posts-undated"


def test_b16_bad_documents_are_dead_lettered_the_rest_indexed(es: ElasticStore, tmp_path: Path) -> None:
    docs = [post("empty-date", ""), post("partial-date", "2011-01"), post("author-str", "2024-05-01T00:00:00Z"),
            post("author-obj", "2024-05-01T00:00:00Z")]
    docs[3]["author"] = {"name": "用户B"}
    result = es.upsert_posts(docs)
    assert result.inserted == 3 and result.failed == 1
    lines = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [d["id"] for d in lines] == ["author-obj"]
    assert "author" in lines[0]["reason"] and lines[0]["document"]["author"] == {"name": "用户B"}
    assert es.count_posts() == 3


def test_b17_beijing_day_bucket_and_same_crawl_twice(es: ElasticStore) -> None:
    batch = [post("a", "2024-04-30T16:30:00Z"), post("b", "2024-05-01T15:59:00Z")]
    assert es.upsert_posts(batch).inserted == 2
    assert es.upsert_posts(batch).updated == 2
    assert es.count_posts() == 2
    start = datetime(2024, 4, 29, tzinfo=TZ)
    counts = es.window_counts(start=start, end=start + timedelta(days=4), window=timedelta(days=1), tz=TZ,
                              scheme="s", label="negative")
    assert counts == {datetime(2024, 5, 1, tzinfo=TZ): 2}
    [a] = es.find_posts(query="停水", limit=1, order="oldest")
    assert a["id"] == "a"


def test_alert_claim_and_state(es: ElasticStore) -> None:
    start = datetime(2024, 5, 1, tzinfo=TZ)
    rec = AlertRecord(key="s:spike:x", scheme_id="s", kind="spike", window_start=start,
                      window_end=start + timedelta(days=1), count=9, baseline=1, threshold=5, why="因为")
    assert es.claim_alert(rec) and not es.claim_alert(rec)
    es.set_alert_status(rec.key, "sent")
    assert [a.status for a in es.alerts()] == ["sent"]
    assert es.last_alert("s", "spike").window_start == start
    es.set_state("k", {"last": 1})
    assert es.get_state("k") == {"last": 1}
    es.record_health("src", "BLOCKED", "验证码")
    assert es.health_events("src")[0]["kind"] == "BLOCKED"


def test_checker_runs_unchanged_on_elasticsearch(es: ElasticStore, tmp_path: Path, smtp_sink) -> None:
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES,
                                          smtp_port=smtp_sink.port))
    for n in range(5):
        add_posts(es, day(n), negative=1)
    add_posts(es, day(5), negative=9)
    checker = AlertChecker(settings, es, Notifier(settings))
    assert [r.outcome for r in checker.check(day(5, 23))] == ["fired"]
    assert [r.outcome for r in checker.check(day(5, 23))] == ["already_alerted"]
    assert len(smtp_sink.messages) == 1
    assert es.significant_terms(scheme="water", start=day(5, 0), end=day(6, 0))[0][0] in {"投诉", "停水"}


def test_server_down_spooled_then_replayed(tmp_path: Path) -> None:
    from osmem_server import OsmemServer

    addr = f"127.0.0.1:{_free_port()}"
    batch = [post("a", "2024-05-01T00:00:00Z"), post("b", "2024-05-02T00:00:00Z")]
    spool = Spool(tmp_path / "spool")
    with OsmemServer.start(addr=addr) as server:
        store = make_store(server.url, tmp_path, max_retries=0, request_timeout=15)  # down = refused at once
    with pytest.raises(StoreUnavailable):  # the server is gone
        store.upsert_posts(batch)
    spool.put(batch)
    assert spool.replay(store).inserted == 0 and len(spool.pending()) == 1
    with OsmemServer.start(addr=addr):
        store.setup()
        assert spool.replay(store).inserted == 2
        assert spool.replay(store).inserted == 0 and spool.pending() == []
        spool.put(batch)
        assert spool.replay(store).updated == 2  # nothing doubled
        assert store.count_posts() == 2
    store.close()


def test_leases_on_elasticsearch(es: ElasticStore) -> None:
    check_leases(es)


def test_known_ids_and_new_fields_on_existing_indices(es: ElasticStore) -> None:
    doc = post("a", "2024-05-01T02:00:00Z") | {"modified_at": "2024-05-03T01:00:00Z", "repost_of": "49900"}
    assert es.upsert_posts([doc, post("b", "2024-06-01T00:00:00Z")]).inserted == 2
    es.es.indices.refresh(index="yuqing-posts-*")
    assert es.known_ids(["a", "b", "c"]) == {"a", "b"} and es.known_ids([]) == set()
    assert "mappings of existing yuqing-posts-* indices" in es.setup()  # safe to run again, fields kept
    got = {p["id"]: p for p in es.find_posts()}
    assert (got["a"]["modified_at"], got["a"]["repost_of"]) == ("2024-05-03T01:00:00Z", "49900")
