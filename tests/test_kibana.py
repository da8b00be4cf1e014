"""Kibana saved objects: references resolve, fields exist in the template, import works."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from pipeline.config import ElasticConfig, load_settings
from pipeline.errors import YuqingError
from pipeline.kibana import NDJSON, build_objects, import_saved_objects

ROOT = Path(__file__).resolve().parent.parent


def template_fields(view: str = "yuqing-posts") -> set[str]:
    """The mapped fields behind a data view: the posts template or the stories index."""
    if view == "yuqing-stories":
        spec = json.loads((ROOT / "config/elasticsearch/stories-index.json").read_text(encoding="utf-8"))
        spec = {"template": spec}
    else:
        spec = json.loads((ROOT / "config/elasticsearch/posts-template.json").read_text(encoding="utf-8"))
    out: set[str] = set()

    def walk(props: dict, prefix: str) -> None:
        for name, body in props.items():
            out.add(prefix + name)
            walk(body.get("properties", {}), prefix + name + ".")
            for sub in body.get("fields", {}):
                out.add(f"{prefix}{name}.{sub}")

    walk(spec["template"]["mappings"]["properties"], "")
    return out


def objects() -> list[dict]:
    return [json.loads(line) for line in NDJSON.read_text(encoding="utf-8").splitlines()]


def test_shipped_ndjson_is_what_the_schemes_build() -> None:
    built = build_objects(load_settings(ROOT / "config/yuqing.yaml").schemes)
    assert objects() == json.loads(json.dumps(built, ensure_ascii=False, sort_keys=True)), \
        "run `python -m pipeline.kibana build` after changing config/schemes.yaml"


def test_every_reference_resolves() -> None:
    by_key = {(o["type"], o["id"]) for o in objects()}
    for obj in objects():
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in by_key, f"{obj['id']} → {ref}"
        if obj["type"] == "dashboard":
            names = {r["name"] for r in obj["references"]}
            for panel in json.loads(obj["attributes"]["panelsJSON"]):
                assert panel["panelRefName"] in names


def test_every_field_exists_in_the_index_template() -> None:
    used: dict[str, set[str]] = {"yuqing-posts": set(), "yuqing-stories": set()}
    for obj in objects():
        attrs = obj["attributes"]
        view = obj["id"] if obj["type"] == "index-pattern" else obj["references"][0]["id"]
        if obj["type"] == "index-pattern":
            used[view].add(attrs["timeFieldName"])
        if obj["type"] == "search":
            used[view].update(attrs["columns"])
            used[view].update(s[0] for s in attrs["sort"])
            query = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
            if query:
                used[view].add(query.split(":")[0].strip())
        if obj["type"] == "visualization":
            for agg in json.loads(attrs["visState"])["aggs"]:
                if "field" in agg["params"]:
                    used[view].add(agg["params"]["field"])
    assert used["yuqing-stories"] and "category" in used["yuqing-posts"]
    for view, fields in used.items():
        assert fields - template_fields(view) == set(), view


def test_titles_are_chinese() -> None:
    titles = {o["attributes"].get("title") for o in objects() if o["type"] != "index-pattern"}
    assert "舆情总览" in titles and "负面信息" in titles
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in titles)


class FakeKibana(BaseHTTPRequestHandler):
    requests: ClassVar[list] = []
    answer: ClassVar[tuple[int, dict]] = (200, {"success": True, "successCount": 12})

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        FakeKibana.requests.append((self.path, self.headers, body))
        status, payload = FakeKibana.answer
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def kibana() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeKibana)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeKibana.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_import_uses_the_saved_objects_api(kibana: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_ES_PASSWORD", "pw")
    FakeKibana.answer = (200, {"success": True, "successCount": 12})
    result = import_saved_objects(kibana, NDJSON, ElasticConfig(username="yuqing"))
    assert result["successCount"] == 12
    [(path, headers, body)] = FakeKibana.requests
    assert path == "/api/saved_objects/_import?overwrite=true"
    assert headers["kbn-xsrf"] == "true" and headers["Authorization"].startswith("Basic ")
    assert NDJSON.read_bytes() in body


def test_import_errors_are_clear(kibana: str) -> None:
    FakeKibana.answer = (400, {"statusCode": 400, "error": "Bad Request", "message": "Invalid file extension"})
    with pytest.raises(YuqingError, match=r"HTTP 400.*Invalid file extension"):
        import_saved_objects(kibana, NDJSON, ElasticConfig())
    FakeKibana.answer = (200, {"success": False, "errors": [{"type": "dashboard", "id": "x",
                                                              "error": {"type": "missing_references"}}]})
    with pytest.raises(YuqingError, match="missing_references"):
        import_saved_objects(kibana, NDJSON, ElasticConfig())
    with pytest.raises(YuqingError, match="unreachable"):
        import_saved_objects("http://127.0.0.1:9", NDJSON, ElasticConfig())
