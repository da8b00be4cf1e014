"""A disk spool for analysed posts the store could not take.

When a write fails (store down, disk full, locked), the batch is appended to a JSON
Lines file under the spool folder instead of being dropped; ``replay`` writes spooled
batches back once the store answers again. Post ids are stable, so a batch replayed
twice updates rather than doubles.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

from pipeline.errors import StoreUnavailable
from pipeline.ingest import store_batch
from pipeline.store import Post, Store, WriteResult
from pipeline.stories import StoryBook

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, posts: Sequence[Post]) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{time.time_ns()}-{os.getpid()}.jsonl"
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for post in posts:
                fh.write(json.dumps(post, ensure_ascii=False) + "\n")
        tmp.rename(path)  # a half-written file is never replayed
        return path

    def pending(self) -> list[Path]:
        return sorted(self.folder.glob("*.jsonl")) if self.folder.exists() else []

    def replay(self, store: Store, book: StoryBook | None = None) -> WriteResult:
        """Write every spooled batch (into its stories when ``book`` is given); stops at the
        first failure and keeps what is left."""
        total = WriteResult()
        for path in self.pending():
            posts = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            try:
                result = store_batch(posts, store, book)
            except StoreUnavailable as exc:
                log.warning("spool: store still unavailable, %d batch(es) kept in %s: %s",
                            len(self.pending()), self.folder, exc)
                break
            total.inserted += result.inserted
            total.updated += result.updated
            path.unlink()
            log.info("spool: replayed %d posts from %s", len(posts), path.name)
        return total
