"""pipeline.frame on both stores: dtypes, Beijing-time filters, server-side counts (B17)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from pipeline.errors import YuqingError
from pipeline.frame import LABELS, counts_over_time, load_alerts, load_posts, top_terms
from pipeline.store import AlertRecord, PostFilter
from pipeline.store.sqlite import SQLiteStore
from tests.test_store_sqlite import post

TZ = ZoneInfo("Asia/Shanghai")


def dataset() -> list[dict]:
    """Posts around the Beijing day boundary of 2024-05-01 (= 2024-04-30 16:00 UTC)."""
    docs = [
        post("before", "2024-04-30T15:59:00Z", label="neutral", tokens="停水 通知"),  # 04-30 23:59 Beijing
        post("first", "2024-04-30T16:30:00Z", engagement={"reposts": 3, "comments": 2, "attitudes": 5}),
        post("noon", "2024-05-01T04:00:00Z", label="positive", schemes=("s", "t"), tokens="水质 好评"),
        post("last", "2024-05-01T15:59:00Z", engagement={"likes": 7, "views": 100}),  # 05-01 23:59 Beijing
        post("next", "2024-05-01T16:00:00Z", schemes=("t",)),  # 05-02 00:00 Beijing
    ]
    docs[2]["platform"], docs[2]["source"] = "rss", "新闻网"
    docs[3]["text"] = "质量太差🔥😡[怒]，某门店拒绝退款𠮷"
    return docs


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator:
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "y.db")
    else:
        from tests.test_store_elastic import make_store

        s = make_store(request.getfixturevalue("osmem_url"), tmp_path)
    s.upsert_posts(dataset())
    yield s
    s.close()


def test_dtypes_and_values(store) -> None:
    df = load_posts(store)
    assert list(df["id"]) == ["before", "first", "noon", "last", "next"]  # oldest first
    assert str(df["published_at"].dt.tz) == "Asia/Shanghai"
    assert df["published_at"].iloc[1] == pd.Timestamp("2024-05-01 00:30", tz=TZ)
    assert str(df["crawled_at"].dt.tz) == "Asia/Shanghai"
    assert isinstance(df["platform"].dtype, pd.CategoricalDtype)
    assert isinstance(df["source"].dtype, pd.CategoricalDtype)
    assert list(df["sentiment"].cat.categories) == list(LABELS)
    first = df.set_index("id").loc["first"]
    assert (first["reposts"], first["comments"], first["likes"], first["reach"]) == (3, 2, 5, 10)  # attitudes→likes
    last = df.set_index("id").loc["last"]
    assert (last["likes"], last["views"]) == (7, 100)
    assert last["text"] == "质量太差🔥😡[怒]，某门店拒绝退款𠮷"
    for column in ("reposts", "comments", "likes", "views", "reach"):
        assert df[column].dtype == "int64"
    assert df.set_index("id").loc["noon", "schemes"] == ["s", "t"]
    assert "tokens" not in df.columns and "engagement" not in df.columns


def test_naive_times_are_beijing_and_until_date_is_inclusive(store) -> None:
    df = load_posts(store, since="2024-05-01", until="2024-05-01")
    assert list(df["id"]) == ["first", "noon", "last"]
    # the same bounds as aware datetimes in UTC give the same rows
    df2 = load_posts(store, since=datetime(2024, 4, 30, 16, tzinfo=ZoneInfo("UTC")),
                     until=datetime(2024, 5, 1, 16, tzinfo=ZoneInfo("UTC")))
    assert list(df2["id"]) == list(df["id"])
    assert list(load_posts(store, since="2024-05-01 12:01")["id"]) == ["last", "next"]


def test_filters_run_in_the_store(store) -> None:
    assert list(load_posts(store, sentiment="negative")["id"]) == ["first", "last", "next"]
    assert list(load_posts(store, sentiment=["neutral", "positive"])["id"]) == ["before", "noon"]
    assert list(load_posts(store, platform="rss")["id"]) == ["noon"]
    assert list(load_posts(store, source=["新闻网", "nothing"])["id"]) == ["noon"]
    assert list(load_posts(store, scheme="t")["id"]) == ["noon", "next"]
    assert list(load_posts(store, query="水质")["id"]) == ["noon"]
    assert list(load_posts(store, limit=2, order="published")["id"]) == ["next", "last"]
    assert store.count_matching(PostFilter(label=("negative",), scheme="s")) == 2


def test_empty_result_keeps_columns_and_dtypes(store) -> None:
    empty, full = load_posts(store, scheme="nobody"), load_posts(store)
    assert empty.empty and list(empty.columns) == list(full.columns)
    assert str(empty["published_at"].dt.tz) == "Asia/Shanghai"
    assert list(empty["sentiment"].cat.categories) == list(LABELS)


def test_large_pull_pages_without_loss(store) -> None:
    docs = [post(f"bulk{i:03d}", f"2024-06-{1 + i % 28:02d}T{i % 24:02d}:00:00Z") for i in range(120)]
    store.upsert_posts(docs)
    kwargs = {"batch_size": 7}
    if hasattr(store, "es"):
        for paging in ("pit", "scroll"):  # osmem speaks OpenSearch-style point-in-time and scroll
            ids = [p["id"] for p in store.iter_posts(PostFilter(start=datetime(2024, 6, 1, tzinfo=TZ)),
                                                     paging=paging, **kwargs)]
            assert len(ids) == len(set(ids)) == 120
    ids = [p["id"] for p in store.iter_posts(PostFilter(start=datetime(2024, 6, 1, tzinfo=TZ)), **kwargs)]
    assert len(ids) == len(set(ids)) == 120
    published = [p["published_at"] for p in store.iter_posts(PostFilter(start=datetime(2024, 6, 1, tzinfo=TZ)))]
    assert published == sorted(published)
    assert len(list(store.iter_posts(limit=10, batch_size=3))) == 10


def test_b17_daily_counts_by_label_in_beijing_days(store) -> None:
    df = counts_over_time(store, window="1d", by="label")
    assert list(df.index) == [pd.Timestamp(d, tz=TZ) for d in ("2024-04-30", "2024-05-01", "2024-05-02")]
    assert df.loc[pd.Timestamp("2024-05-01", tz=TZ)].to_dict() == {"negative": 2, "neutral": 0, "positive": 1}
    assert df.loc[pd.Timestamp("2024-04-30", tz=TZ), "neutral"] == 1
    # the zone is required: counted in UTC days, "first" would fall on 04-30
    utc = store.histogram(PostFilter(), window=timedelta(days=1), tz=ZoneInfo("UTC"), by="label")
    assert utc[(datetime(2024, 4, 30, tzinfo=ZoneInfo("UTC")), "negative")] == 1
    by_platform = counts_over_time(store, window="1d", by="platform", since="2024-05-01", until="2024-05-01")
    assert by_platform.sum().to_dict() == {"rss": 1, "weibo": 2}


def test_top_terms(store) -> None:
    terms = top_terms(store, size=3, since="2024-05-01")
    assert terms.iloc[0].to_dict() == {"term": "停水", "posts": 3}
    assert top_terms(store, field="source").set_index("term")["posts"].to_dict() == {"w": 4, "新闻网": 1}


def test_alerts_frame(store) -> None:
    start = datetime(2024, 5, 1, tzinfo=TZ)
    for offset, key in ((0, "s:spike:a"), (3, "s:spike:b")):
        store.claim_alert(AlertRecord(key=key, scheme_id="s", kind="spike", window_start=start + timedelta(days=offset),
                                      window_end=start + timedelta(days=offset + 1), count=9, baseline=1.5,
                                      threshold=5, why="负面激增",
                                      payload={"scheme_name": "供水服务", "level": "较大"}))
    df = load_alerts(store, since="2024-05-01", until="2024-05-02")
    assert list(df["key"]) == ["s:spike:a"]
    row = df.iloc[0]
    assert row["window_start"] == pd.Timestamp("2024-05-01", tz=TZ) and str(df["window_start"].dt.tz) == "Asia/Shanghai"
    assert (row["scheme_name"], row["level"], row["count"], row["baseline"]) == ("供水服务", "较大", 9, 1.5)
    assert len(load_alerts(store)) == 2 and load_alerts(store, scheme="other").empty


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    store = SQLiteStore(":memory:")
    with pytest.raises(YuqingError, match="sentiment 'angry'"):
        load_posts(store, sentiment="angry")
    with pytest.raises(YuqingError, match="not a date"):
        load_posts(store, since="last tuesday")
    with pytest.raises(YuqingError, match="not after"):
        load_posts(store, since="2024-05-02", until="2024-04-01")
    with pytest.raises(YuqingError, match="no such database"):
        load_posts(f"sqlite:///{tmp_path / 'typo.db'}")


def test_store_url_and_config_are_opened_and_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import write_config

    db = SQLiteStore(tmp_path / "yuqing.db")
    db.upsert_posts(dataset())
    db.close()
    assert len(load_posts(f"sqlite:///{tmp_path / 'yuqing.db'}")) == 5
    config = write_config(tmp_path, sources="sources: []\n", schemes="schemes: []\n")
    assert len(load_posts(config, sentiment="negative")) == 3
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")  # found from a subfolder, like a notebook's
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    monkeypatch.delenv("YUQING_STORE", raising=False)
    assert len(load_posts()) == 5
