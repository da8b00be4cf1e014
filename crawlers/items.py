"""The item every spider yields: a raw post, before cleaning and analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class PostItem:
    """Raw fields as the source gave them; ``text`` may still be HTML.

    ``published_at`` is aware (or None when the source gave no usable time: never the
    crawl time). ``published_precision`` says whether the source gave seconds, minutes or
    only a day. ``modified_at`` is the page's own last-modified time, kept apart from
    ``published_at`` (B6). ``repost_of`` is the platform id of the original a repost
    shares, so stories and reach can group them.
    """

    platform: str
    source: str
    text: str | None = None
    title: str | None = None
    url: str | None = None
    platform_id: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    published_precision: str | None = None
    modified_at: datetime | None = None
    raw_published: str | None = None
    crawled_at: datetime | None = None
    engagement: dict[str, int] = field(default_factory=dict)
    text_truncated: bool = False
    repost_of: str | None = None  # platform id of the reposted original: the copy joins its story
    tier: str | None = None  # this author's tier when the platform says (a verified government account)
