"""Custom Scrapy signals.

``source_health`` is sent by spiders when a source answers with something unusable
(kind: BLOCKED, LOGIN_REQUIRED, SCHEMA_CHANGED, NOT_FOUND, RATE_LIMITED, API_ERROR,
EMPTY_BODY, MALFORMED, HTTP_ERROR); the store pipeline records it as a health event.
Arguments: ``source``, ``kind``, ``detail``.
"""

source_health = object()
