"""A loopback HTTP server for crawl tests: serves recorded pages from a folder.

``python tests/mockserver.py FOLDER`` binds 127.0.0.1 on a free port and prints its URL.
``FOLDER/routes.json`` maps a path to ``{"file" | "body", "type", "status"}``, or to
``{"query": NAME, "files": {VALUE: FILE}}`` to pick a file by a query parameter, or to
``{"sequence": [FILE, ...]}`` to serve the next file on each request (then the last one
again: a site that changes between crawls). ``"headers"`` adds response headers (e.g. a
``Location`` for a redirect status). Every
request is appended to ``FOLDER``-independent stdout as ``GET <path>`` lines so tests
can assert what was fetched.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_LOG_LOCK = threading.Lock()


def make_handler(root: Path) -> type[BaseHTTPRequestHandler]:
    routes = json.loads((root / "routes.json").read_text(encoding="utf-8"))
    served: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: object) -> None:
            with _LOG_LOCK:  # handler threads: print() writes text and newline apart, lines would interleave
                sys.stdout.write(f"GET {self.path}\n")
                sys.stdout.flush()

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            route = routes.get(url.path)
            if route is None:
                return self._send(404, "text/plain", b"not found")
            if "query" in route:
                value = (parse_qs(url.query).get(route["query"]) or [""])[0]
                name = route["files"].get(value)
                if name is None:
                    return self._send(404, "text/plain", b"no such page")
                body = (root / name).read_bytes()
            elif "sequence" in route:
                n = served[url.path] = served.get(url.path, -1) + 1
                body = (root / route["sequence"][min(n, len(route["sequence"]) - 1)]).read_bytes()
            elif "file" in route:
                body = (root / route["file"]).read_bytes()
            else:
                body = route.get("body", "").encode("utf-8")
            return self._send(route.get("status", 200), route.get("type", "application/octet-stream"), body,
                              route.get("headers", {}))

        def _send(self, status: int, ctype: str, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(Path(sys.argv[1])))
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
