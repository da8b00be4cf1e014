"""Stable post ids: the same post crawled twice gets the same id (field report B24)."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING = ("utm_", "spm", "from", "wm", "stream_entry_id", "isnewpage", "luicode", "lfid")


def canonical_url(url: str) -> str:
    """Lower-case scheme/host, no fragment, no tracking parameters, sorted query."""
    parts = urlsplit(url.strip())
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not k.lower().startswith(_TRACKING))
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


def post_id(platform: str, platform_id: str | None = None, url: str | None = None,
            content: str | None = None) -> str:
    """hash(platform, platform id), else hash(platform, canonical URL), else hash of the content.

    ``content`` is the last resort for exports that carry neither id nor URL; it must be
    built from fields that do not change between re-imports (text, author, time).
    """
    if platform_id:
        key = f"{platform}\x1fid\x1f{platform_id}"
    elif url:
        key = f"{platform}\x1furl\x1f{canonical_url(url)}"
    elif content:
        key = f"{platform}\x1fcontent\x1f{content}"
    else:
        raise ValueError("a post needs a platform id, a URL or content to get a stable id")
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]
