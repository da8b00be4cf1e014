"""Kibana saved objects for yuqing: built from the schemes, imported over Kibana's API.

``python -m pipeline.kibana build`` writes ``config/kibana/yuqing.ndjson`` (a data view on
``yuqing-posts*``, saved searches, aggregation-based visualisations and the dashboard
舆情总览, all titled in Chinese); ``yuqing kibana setup`` imports that file through
``POST /api/saved_objects/_import?overwrite=true``.
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from pipeline.config import ElasticConfig, Scheme, load_settings
from pipeline.errors import YuqingError

DATA_VIEW_ID = "yuqing-posts"
STORIES_VIEW_ID = "yuqing-stories"
NDJSON = Path(__file__).resolve().parent.parent / "config" / "kibana" / "yuqing.ndjson"


def _search_source(query: str = "") -> dict[str, Any]:
    return {"kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({
        "query": {"query": query, "language": "kuery"}, "filter": [],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index"}, ensure_ascii=False)}}


def _index_ref(view: str = DATA_VIEW_ID) -> list[dict[str, str]]:
    return [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": view}]


def _vis(vid: str, title: str, vis_type: str, aggs: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    return {"type": "visualization", "id": vid, "references": _index_ref(), "attributes": {
        "title": title, "description": "", "uiStateJSON": "{}", "version": 1,
        "visState": json.dumps({"title": title, "type": vis_type, "aggs": aggs, "params": params}, ensure_ascii=False),
        **_search_source()}}


def _date_agg(aid: str = "2") -> dict[str, Any]:
    return {"id": aid, "enabled": True, "type": "date_histogram", "schema": "segment",
            "params": {"field": "published_at", "interval": "auto", "min_doc_count": 1, "extended_bounds": {}}}


def _terms(aid: str, field: str, schema: str, size: int = 10) -> dict[str, Any]:
    return {"id": aid, "enabled": True, "type": "terms", "schema": schema,
            "params": {"field": field, "size": size, "order": "desc", "orderBy": "1"}}


_COUNT = {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}}


def _bars(mode: str) -> dict[str, Any]:
    return {"type": "histogram", "addLegend": True, "legendPosition": "right", "addTooltip": True,
            "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True,
                              "scale": {"type": "linear"}, "labels": {"show": True}, "title": {}}],
            "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left",
                           "show": True, "scale": {"type": "linear", "mode": mode}, "labels": {"show": True},
                           "title": {"text": "条数" if mode == "normal" else "占比"}}],
            "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked", "valueAxis": "ValueAxis-1",
                              "data": {"id": "1", "label": "条数"}}]}


def build_objects(schemes: list[Scheme]) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = [{
        "type": "index-pattern", "id": DATA_VIEW_ID,
        "attributes": {"title": "yuqing-posts*", "timeFieldName": "published_at", "name": "舆情信息"},
        "references": []}, {
        "type": "index-pattern", "id": STORIES_VIEW_ID,
        "attributes": {"title": "yuqing-stories", "timeFieldName": "first_published_at", "name": "舆情事件"},
        "references": []}]
    columns = ["title", "text", "source", "platform", "sentiment.label", "sentiment.score", "schemes", "category",
               "verification", "rumour"]
    story_columns = ["title", "size", "first_source", "sources", "reach", "negative", "category", "verification",
                     "rumour", "rumour_reason"]
    for sid, title, query in (("yuqing-stories-all", "舆情事件（相似信息合并）", ""),
                              ("yuqing-stories-flagged", "待核实与存在辟谣的事件", "rumour : *")):
        objects.append({"type": "search", "id": sid, "references": _index_ref(STORIES_VIEW_ID), "attributes": {
            "title": title, "description": "", "columns": story_columns, "sort": [["size", "desc"]],
            **_search_source(query)}})
    searches = [("yuqing-negative", "负面信息", 'sentiment.label : "negative"')]
    searches += [(f"yuqing-scheme-{s.id}", f"监测方案：{s.name}", f'schemes : "{s.id}"') for s in schemes]
    for sid, title, query in searches:
        objects.append({"type": "search", "id": sid, "references": _index_ref(), "attributes": {
            "title": title, "description": "", "columns": columns, "sort": [["published_at", "desc"]],
            **_search_source(query)}})
    label_split = _terms("3", "sentiment.label", "group", 3)
    objects += [
        _vis("yuqing-sentiment-over-time", "情感走势", "histogram", [_COUNT, _date_agg(), label_split],
             _bars("normal")),
        _vis("yuqing-negative-share", "负面占比走势", "histogram", [_COUNT, _date_agg(), label_split],
             _bars("percentage")),
        _vis("yuqing-by-source", "来源分布", "pie", [_COUNT, _terms("2", "source", "segment", 15)],
             {"type": "pie", "addTooltip": True, "addLegend": True, "legendPosition": "right", "isDonut": True}),
        _vis("yuqing-by-platform", "平台分布", "pie", [_COUNT, _terms("2", "platform", "segment", 10)],
             {"type": "pie", "addTooltip": True, "addLegend": True, "legendPosition": "right", "isDonut": True}),
        _vis("yuqing-top-keywords", "热门关键词", "tagcloud", [_COUNT, _terms("2", "keywords", "segment", 50)],
             {"scale": "linear", "orientation": "single", "minFontSize": 14, "maxFontSize": 60, "showLabel": False}),
        _vis("yuqing-by-category", "分类分布", "pie", [_COUNT, _terms("2", "category", "segment", 12)],
             {"type": "pie", "addTooltip": True, "addLegend": True, "legendPosition": "right", "isDonut": True}),
        _vis("yuqing-by-verification", "核实状态", "pie", [_COUNT, _terms("2", "verification", "segment", 3)],
             {"type": "pie", "addTooltip": True, "addLegend": True, "legendPosition": "right", "isDonut": True}),
        _vis("yuqing-by-scheme", "监测方案分布", "histogram",
             [_COUNT, _terms("2", "schemes", "segment", 20), _terms("3", "sentiment.label", "group", 3)],
             _bars("normal")),
    ]
    panels, refs = [], []
    layout = [("yuqing-sentiment-over-time", "visualization", 0, 0, 24, 15),
              ("yuqing-negative-share", "visualization", 24, 0, 24, 15),
              ("yuqing-by-source", "visualization", 0, 15, 16, 15),
              ("yuqing-by-platform", "visualization", 16, 15, 16, 15),
              ("yuqing-top-keywords", "visualization", 32, 15, 16, 15),
              ("yuqing-by-category", "visualization", 0, 30, 24, 15),
              ("yuqing-by-verification", "visualization", 24, 30, 24, 15),
              ("yuqing-by-scheme", "visualization", 0, 45, 48, 15),
              ("yuqing-stories-flagged", "search", 0, 60, 48, 15),
              ("yuqing-negative", "search", 0, 75, 48, 20)]
    for i, (oid, otype, x, y, w, h) in enumerate(layout):
        pid = str(uuid.UUID(int=i + 1))
        panels.append({"panelIndex": pid, "gridData": {"x": x, "y": y, "w": w, "h": h, "i": pid},
                       "embeddableConfig": {}, "panelRefName": f"panel_{i}", "version": "8.15.0"})
        refs.append({"name": f"panel_{i}", "type": otype, "id": oid})
    objects.append({"type": "dashboard", "id": "yuqing-overview", "references": refs, "attributes": {
        "title": "舆情总览",
        "description": "情感走势、负面占比、来源与平台、热门关键词、分类与核实状态、监测方案、待核实事件与负面信息列表",
        "panelsJSON": json.dumps(panels), "optionsJSON": json.dumps({"useMargins": True, "hidePanelTitles": False}),
        "timeRestore": True, "timeFrom": "now-30d", "timeTo": "now", "refreshInterval": {"pause": False,
                                                                                         "value": 300000},
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"},
                                                                  "filter": []})}}})
    return objects


def write_ndjson(objects: list[dict[str, Any]], path: Path = NDJSON) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in objects),
                    encoding="utf-8")


def import_saved_objects(url: str, ndjson: Path, es: ElasticConfig, timeout: float = 30) -> dict[str, Any]:
    """POST the ndjson to Kibana's import API (overwrite) and return its JSON answer."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"yuqing.ndjson\"\r\n"
            "Content-Type: application/ndjson\r\n\r\n")
    body = head.encode() + ndjson.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    headers = {"kbn-xsrf": "true", "Content-Type": f"multipart/form-data; boundary={boundary}"}
    if es.api_key():
        headers["Authorization"] = f"ApiKey {es.api_key()}"
    elif es.username and es.password():
        headers["Authorization"] = "Basic " + base64.b64encode(f"{es.username}:{es.password()}".encode()).decode()
    req = urllib.request.Request(url.rstrip("/") + "/api/saved_objects/_import?overwrite=true", data=body,
                                 headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:500]
        raise YuqingError(f"Kibana {url}: import failed with HTTP {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise YuqingError(f"Kibana {url}: unreachable: {exc}") from None
    if not answer.get("success"):
        errors = "; ".join(f"{e.get('type')}/{e.get('id')}: {e.get('error', {}).get('type')}"
                           for e in answer.get("errors", []))
        raise YuqingError(f"Kibana {url}: import reported errors: {errors or answer}")
    return answer


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] != ["build"]:
        raise SystemExit("usage: python -m pipeline.kibana build [--config config/yuqing.yaml]")
    config = args[args.index("--config") + 1] if "--config" in args else None
    write_ndjson(build_objects(load_settings(config).schemes))
    print(f"wrote {NDJSON}")


if __name__ == "__main__":
    main()
