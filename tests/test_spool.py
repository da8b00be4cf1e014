"""Posts the store cannot take are spooled to disk and replayed, never lost or doubled."""

import sqlite3
from pathlib import Path

from pipeline.errors import StoreUnavailable
from pipeline.spool import Spool
from pipeline.store.sqlite import SQLiteStore
from tests.test_store_sqlite import post


class DownStore(SQLiteStore):
    def upsert_posts(self, posts):
        raise StoreUnavailable("disk full")


def test_spool_and_replay(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    batch = [post("a", "2024-05-01T00:00:00Z"), post("b", "2024-05-01T01:00:00Z")]
    spool.put(batch)
    down = DownStore(":memory:")
    assert spool.replay(down).inserted == 0
    assert len(spool.pending()) == 1  # kept while the store is down
    store = SQLiteStore(tmp_path / "y.db")
    assert spool.replay(store).inserted == 2
    assert spool.pending() == []
    spool.put(batch)
    assert spool.replay(store).updated == 2  # replaying again updates, never doubles
    assert store.count_posts() == 2
    store.close()


def test_sqlite_failure_is_store_unavailable(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "y.db")
    store._db.execute("DROP TABLE post_schemes")
    try:
        store.upsert_posts([post("a", "2024-05-01T00:00:00Z")])
    except StoreUnavailable as exc:
        assert "write of 1 posts failed" in str(exc)
    else:
        raise AssertionError("expected StoreUnavailable")
    with sqlite3.connect(tmp_path / "y.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 0  # the transaction rolled back
