"""The SQLite store: upsert by id, FTS over tokens, windows in Beijing time (B17, B24)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline.store import AlertRecord
from pipeline.store.sqlite import SQLiteStore

TZ = ZoneInfo("Asia/Shanghai")


def post(pid: str, published: str, label: str = "negative", schemes=("s",), engagement=None, tokens="停水 投诉"):
    return {"id": pid, "platform": "weibo", "source": "w", "url": f"https://x/{pid}", "title": None,
            "text": f"正文{pid}", "author": "a", "published_at": published, "crawled_at": published,
            "engagement": engagement or {"reposts": 1}, "tokens": tokens, "keywords": tokens.split(),
            "sentiment": {"label": label, "score": 0.9, "model": "m"}, "schemes": list(schemes)}


@pytest.fixture
def store() -> SQLiteStore:
    s = SQLiteStore(":memory:")
    yield s
    s.close()


def test_upsert_updates_never_doubles(store: SQLiteStore) -> None:
    first = store.upsert_posts([post("a", "2024-05-01T00:00:00Z"), post("b", "2024-05-01T01:00:00Z")])
    assert (first.inserted, first.updated) == (2, 0)
    again = store.upsert_posts([post("a", "2024-05-01T00:00:00Z", engagement={"reposts": 50})])
    assert (again.inserted, again.updated) == (0, 1)
    assert store.count_posts() == 2
    assert store.find_posts(order="reach")[0]["engagement"] == {"reposts": 50}


def test_rescheduling_a_post_moves_its_scheme_rows(store: SQLiteStore) -> None:
    store.upsert_posts([post("a", "2024-05-01T00:00:00Z", schemes=("s", "t"))])
    store.upsert_posts([post("a", "2024-05-01T00:00:00Z", schemes=("t",))])
    assert store.find_posts(scheme="s") == []
    assert [p["id"] for p in store.find_posts(scheme="t")] == ["a"]


def test_full_text_search_over_tokens(store: SQLiteStore) -> None:
    store.upsert_posts([post("a", "2024-05-01T00:00:00Z", tokens="水质 发黄"),
                        post("b", "2024-05-01T00:00:00Z", tokens="停水 通知")])
    assert [p["id"] for p in store.find_posts(query="发黄")] == ["a"]
    store.upsert_posts([post("a", "2024-05-01T00:00:00Z", tokens="管网 维修")])
    assert store.find_posts(query="发黄") == []


def test_b17_day_bucket_in_beijing_time(store: SQLiteStore) -> None:
    # 2024-05-01 00:30 in Beijing is 2024-04-30 16:30 UTC.
    store.upsert_posts([post("a", "2024-04-30T16:30:00Z")])
    start = datetime(2024, 4, 29, tzinfo=TZ)
    counts = store.window_counts(start=start, end=start + timedelta(days=3), window=timedelta(days=1), tz=TZ,
                                 scheme="s", label="negative")
    assert counts == {datetime(2024, 5, 1, tzinfo=TZ): 1}
    utc_counts = store.window_counts(start=start, end=start + timedelta(days=3), window=timedelta(days=1),
                                     tz=ZoneInfo("UTC"), scheme="s")
    assert list(utc_counts) == [datetime(2024, 4, 30, tzinfo=ZoneInfo("UTC"))]  # why the zone is required


def test_alert_claim_is_exactly_once(store: SQLiteStore) -> None:
    start = datetime(2024, 5, 1, tzinfo=TZ)
    rec = AlertRecord(key="s:spike:x", scheme_id="s", kind="spike", window_start=start,
                      window_end=start + timedelta(days=1), count=9, baseline=1, threshold=5, why="because")
    assert store.claim_alert(rec)
    assert not store.claim_alert(rec)
    store.set_alert_status(rec.key, "sent")
    assert [a.status for a in store.alerts()] == ["sent"]
    assert store.last_alert("s", "spike").window_start == start


def test_state_and_health(store: SQLiteStore) -> None:
    store.set_state("weibo:last_id", {"id": "123"})
    assert store.get_state("weibo:last_id") == {"id": "123"}
    store.record_health("src", "BLOCKED", "captcha", at=datetime(2024, 1, 1, tzinfo=UTC))
    assert store.health_events("src") == [{"source": "src", "kind": "BLOCKED", "detail": "captcha",
                                           "at": "2024-01-01T00:00:00Z"}]


def test_file_store_survives_reopen(tmp_path) -> None:
    path = tmp_path / "sub" / "y.db"
    s = SQLiteStore.from_url(f"sqlite:///{path}")
    s.upsert_posts([post("a", "2024-05-01T00:00:00Z")])
    s.close()
    again = SQLiteStore(path)
    assert again.count_posts() == 1
    assert again.stats()["by_sentiment"] == {"negative": 1}
    again.close()


def test_leases(store: SQLiteStore) -> None:
    check_leases(store)


def check_leases(store) -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    ttl = timedelta(minutes=5)
    assert store.try_lock("serve", "a", ttl, now)
    assert not store.try_lock("serve", "b", ttl, now + timedelta(minutes=1))
    assert store.try_lock("serve", "a", ttl, now + timedelta(minutes=2))  # renewal
    assert store.try_lock("serve", "b", ttl, now + timedelta(minutes=8))  # a's lease expired


def test_known_ids_and_the_fields_added_for_crawlers(store: SQLiteStore) -> None:
    doc = post("a", "2024-05-01T02:00:00Z") | {"modified_at": "2024-05-03T01:00:00Z", "repost_of": "4990000000000100"}
    store.upsert_posts([doc, post("b", "2024-05-01T00:00:00Z")])
    assert store.known_ids(["a", "b", "c"]) == {"a", "b"} and store.known_ids([]) == set()
    got = {p["id"]: p for p in store.find_posts()}
    assert (got["a"]["modified_at"], got["a"]["repost_of"]) == ("2024-05-03T01:00:00Z", "4990000000000100")
    assert got["b"]["modified_at"] is None


def test_a_database_from_before_the_new_columns_is_upgraded(tmp_path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the posts table as the first release created it
        conn.execute("CREATE TABLE posts (id TEXT PRIMARY KEY, platform TEXT NOT NULL, source TEXT, platform_id TEXT, "
                     "url TEXT, title TEXT, text TEXT, author TEXT, published_at TEXT, published_ts INTEGER, "
                     "published_precision TEXT, crawled_at TEXT, first_seen_at TEXT NOT NULL, engagement TEXT NOT "
                     "NULL DEFAULT '{}', reach INTEGER NOT NULL DEFAULT 0, tokens TEXT, keywords TEXT NOT NULL "
                     "DEFAULT '[]', sentiment_label TEXT, sentiment_score REAL, sentiment TEXT, schemes TEXT NOT "
                     "NULL DEFAULT '[]', text_truncated INTEGER NOT NULL DEFAULT 0, dup_of TEXT, cluster TEXT)")
    store = SQLiteStore(path)
    store.upsert_posts([post("a", "2024-05-01T00:00:00Z") | {"repost_of": "1"}])
    assert store.find_posts()[0]["repost_of"] == "1"
    store.close()
