"""Shared fixtures: loopback servers (recorded site, SMTP) and temporary configurations."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"


def _serve(folder: Path, log: list[str]) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "mockserver.py"), str(folder)],
                            stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    threading.Thread(target=lambda: log.extend(line.strip() for line in proc.stdout), daemon=True).start()
    yield url
    proc.terminate()
    proc.wait(timeout=10)


SITE_REQUESTS: list[str] = []  # "GET /path?query" for every request the session's site answered


@pytest.fixture(scope="session")
def site() -> Iterator[str]:
    """The recorded site under tests/fixtures/site, served by a subprocess on 127.0.0.1."""
    yield from _serve(FIXTURES / "site", SITE_REQUESTS)


@pytest.fixture
def fresh_site() -> Iterator[tuple[str, list[str]]]:
    """The same recorded site in a server of its own (``sequence`` routes start over), and its request log."""
    log: list[str] = []
    yield from ((url, log) for url in _serve(FIXTURES / "site", log))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SmtpSink:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it receives."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink("127.0.0.1", _free_port())

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            sink.messages.append(message_from_bytes(envelope.original_content or envelope.content,
                                                    policy=policy.default))
            sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def write_config(tmp: Path, *, sources: str, schemes: str, smtp_port: int | None = None,
                 extra: str = "") -> Path:
    """A complete config folder under ``tmp`` using the shipped model and user dictionary."""
    cfg = tmp / "config"
    cfg.mkdir(parents=True, exist_ok=True)
    smtp = (f"smtp: {{host: 127.0.0.1, port: {smtp_port}, sender: '舆情监测 <alerts@example.invalid>', "
            "retry_delay: 0.1}"
            if smtp_port else "smtp: {host: null}")
    (cfg / "yuqing.yaml").write_text(textwrap.dedent(f"""\
        store: sqlite:///{tmp / 'yuqing.db'}
        timezone: Asia/Shanghai
        model: {{path: {ROOT / 'nlp/models/yuqing-sentiment-fast'}}}
        {smtp}
        recipients: ["值班 <duty@example.invalid>"]
        outbox: {tmp / 'outbox'}
        userdict: {ROOT / 'config/userdict.txt'}
        categories_file: {ROOT / 'config/categories.yaml'}
        crawl: {{download_delay: 0, batch_size: 8}}
        """) + extra, encoding="utf-8")
    (cfg / "sources.yaml").write_text(textwrap.dedent(sources), encoding="utf-8")
    (cfg / "schemes.yaml").write_text(textwrap.dedent(schemes), encoding="utf-8")
    return cfg / "yuqing.yaml"


def run_yuqing(config: Path, *args: str, timeout: int = 300,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command, in a subprocess (Scrapy's reactor runs once per process)."""
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})})
