"""An elastic_transport node that speaks plain ``application/json``.

The official client sends ``application/vnd.elasticsearch+json; compatible-with=8``
and refuses servers that do not answer ``X-Elastic-Product: Elasticsearch``.
OpenSearch-style servers (and osmem-server in the tests) reject the media type and
do not send the header. With ``elasticsearch.compat: opensearch`` the store uses this
node class: it rewrites the media types to the plain ones and marks answers as coming
from a compatible product, so the rest of the client works unchanged.
"""

from __future__ import annotations

import dataclasses
import re

from elastic_transport import HttpHeaders, Urllib3HttpNode
from elastic_transport._node._base import NodeApiResponse
from elastic_transport.client_utils import DEFAULT, DefaultType

_VENDOR = re.compile(r"application/vnd\.elasticsearch\+(json|x-ndjson)(;\s*compatible-with=\d+)?")


class PlainJsonNode(Urllib3HttpNode):
    def perform_request(self, method: str, target: str, body: bytes | None = None,
                        headers: HttpHeaders | None = None,
                        request_timeout: DefaultType | float | None = DEFAULT) -> NodeApiResponse:
        if headers:
            plain = HttpHeaders()
            for key, value in headers.items():
                media = key.lower() in ("accept", "content-type")
                plain[key] = _VENDOR.sub(r"application/\1", value) if media else value
            headers = plain
        response = super().perform_request(method, target, body=body, headers=headers,
                                           request_timeout=request_timeout)
        vouched = HttpHeaders(response.meta.headers)
        vouched.setdefault("x-elastic-product", "Elasticsearch")
        return NodeApiResponse(dataclasses.replace(response.meta, headers=vouched), response.body)
