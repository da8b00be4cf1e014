"""IM webhooks: byte budgets (B20), signing, and real HTTP posts to a loopback endpoint."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from alerts.webhooks import Webhook, split_utf8, strip_marker
from pipeline.config import WebhookConfig
from pipeline.errors import NotifyError


def test_b20_split_by_utf8_bytes_never_inside_a_character() -> None:
    body = "某公司负面舆情快速升温，网友集中反映停水问题。\n" * 170  # about 12,000 bytes
    assert 11_000 < len(body.encode()) < 13_000
    parts = split_utf8(body, 4096)
    assert len(parts) == 3
    for i, part in enumerate(parts, start=1):
        raw = part.encode("utf-8")
        assert len(raw) <= 4096
        assert raw.decode("utf-8") == part
        assert part.startswith(f"({i}/3)\n")
    assert "".join(strip_marker(p) for p in parts) == body
    assert split_utf8(body, 20_000) == [body]  # one message where it fits (e-mail-like budgets)


def test_split_long_line_without_breaks() -> None:
    body = "😡" * 3000  # 4-byte characters, no newline
    parts = split_utf8(body, 4096)
    assert all(len(p.encode()) <= 4096 for p in parts)
    assert "".join(strip_marker(p) for p in parts) == body


class Endpoint(BaseHTTPRequestHandler):
    bodies: ClassVar[list] = []
    answer: ClassVar[dict] = {"errcode": 0, "errmsg": "ok"}

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        Endpoint.bodies.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
        data = json.dumps(Endpoint.answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def endpoint() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Endpoint.bodies = []
    Endpoint.answer = {"errcode": 0, "errmsg": "ok"}
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_dingtalk_is_signed_and_split(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DT_URL", f"{endpoint}/robot/send?access_token=t")
    monkeypatch.setenv("DT_SECRET", "SECabc")
    hook = Webhook(WebhookConfig(name="duty", kind="dingtalk", url_env="DT_URL", secret_env="DT_SECRET"))
    assert hook.send("【舆情预警】", "停水" * 4000, now=1_700_000_000.0) == 2
    path, body = Endpoint.bodies[0]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    expected = base64.b64encode(hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()).decode()
    assert query["timestamp"] == ["1700000000000"] and query["sign"] == [expected]
    assert body["msgtype"] == "markdown" and body["markdown"]["text"].startswith("(1/2)")


def test_wecom_and_feishu_shapes(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WC_URL", f"{endpoint}/wecom")
    monkeypatch.setenv("FS_URL", f"{endpoint}/feishu")
    monkeypatch.setenv("FS_SECRET", "s")
    Webhook(WebhookConfig(name="w", kind="wecom", url_env="WC_URL")).send("t", "内容")
    Endpoint.answer = {"code": 0, "msg": "success"}
    Webhook(WebhookConfig(name="f", kind="feishu", url_env="FS_URL", secret_env="FS_SECRET")).send("t", "内容", now=1.0)
    (_, wecom), (_, feishu) = Endpoint.bodies
    assert wecom == {"msgtype": "markdown", "markdown": {"content": "内容"}}
    assert feishu["msg_type"] == "text" and feishu["timestamp"] == "1" and feishu["sign"]


def test_channel_errors_are_raised_with_the_code(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WC_URL", f"{endpoint}/wecom")
    Endpoint.answer = {"errcode": 40058, "errmsg": "markdown.content exceed max length"}
    with pytest.raises(NotifyError, match="40058"):
        Webhook(WebhookConfig(name="w", kind="wecom", url_env="WC_URL")).send("t", "内容")
    monkeypatch.setenv("WC_URL", "http://127.0.0.1:9/none")
    with pytest.raises(NotifyError, match="unreachable"):
        Webhook(WebhookConfig(name="w", kind="wecom", url_env="WC_URL"), retries=1).send("t", "内容")


def test_alerts_go_to_webhooks_too(endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from alerts.checker import AlertChecker
    from alerts.notify import Notifier
    from pipeline.config import load_settings
    from pipeline.store.sqlite import SQLiteStore
    from tests.conftest import write_config
    from tests.test_checker import SCHEMES, add_posts, day

    monkeypatch.setenv("WC_URL", f"{endpoint}/wecom")
    extra = "webhooks: [{name: duty, kind: wecom, url_env: WC_URL}]\n"
    settings = load_settings(write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES, extra=extra))
    store = SQLiteStore(":memory:")
    for n in range(5):
        add_posts(store, day(n), negative=1)
    add_posts(store, day(5), negative=9)
    checker = AlertChecker(settings, store, Notifier(settings))
    checker.check(day(5, 23))
    checker.check(day(5, 23))
    assert len(Endpoint.bodies) == 1
    content = Endpoint.bodies[0][1]["markdown"]["content"]
    assert "供水服务" in content and "9 个事件" in content and "2025-06-06 00:00 (UTC+8)" in content
    detail = store._db.execute("SELECT detail FROM alerts").fetchone()[0]
    assert detail.endswith("; webhooks: duty: 1 message(s)")
