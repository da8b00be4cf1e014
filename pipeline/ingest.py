"""Writing analysed posts: one place for what happens around ``upsert_posts``.

Every way in (crawls, ``yuqing import``, the spool replay, the demo) stores a batch the
same way: near-duplicates are placed in their stories before the write, and the touched
stories are recomputed from the store after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.store import Store, WriteResult
from pipeline.stories import StoryBook

Post = dict[str, Any]


def store_batch(posts: Sequence[Post], store: Store, book: StoryBook | None) -> WriteResult:
    """Cluster, upsert and refresh stories; StoreUnavailable propagates so callers can spool."""
    posts = list(posts)
    touched = book.assign(posts) if book else set()
    result = store.upsert_posts(posts)
    if book:
        book.refresh(touched, posts)
    return result
