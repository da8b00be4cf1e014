"""Alert delivery: every alert e-mail goes to the outbox folder, and over SMTP when
configured. A send is retried at once a few times (a dropped connection); one that still
fails leaves the alert ``failed`` in the store with its attempt count, and later checks
retry it with a doubling pause, so an SMTP outage delays alerts but never loses them and
a long outage is not hammered every few minutes.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from alerts.email import alert_subject, compose, recipients_for
from pipeline.config import Settings
from pipeline.errors import NotifyError
from pipeline.store import AlertRecord, Store

log = logging.getLogger(__name__)
# A claimed alert still 'pending' after this long was claimed by a checker that died
# before sending; younger ones may be in flight in another checker.
STALE_PENDING = timedelta(minutes=10)
RETRY_FIRST, RETRY_MAX = timedelta(minutes=1), timedelta(hours=1)
_ATTEMPT = re.compile(r"^attempt (\d+): ")


def attempts(record: AlertRecord) -> int:
    """Failed delivery attempts so far, as recorded in the alert's detail."""
    m = _ATTEMPT.match(record.detail or "")
    return int(m.group(1)) if m else (1 if record.status == "failed" else 0)


def retry_due(record: AlertRecord, now: datetime) -> bool:
    """A failed alert is retried 1 min after the first failure, then 2, 4 … at most 1 h apart."""
    if record.status != "failed" or record.updated_at is None:
        return True
    pause = min(RETRY_FIRST * 2 ** max(0, attempts(record) - 1), RETRY_MAX)
    return now - record.updated_at >= pause


class Notifier:
    def __init__(self, settings: Settings, outbox: Path | None = None) -> None:
        self.settings = settings
        self.outbox = outbox or Path(settings.app.outbox)
        self.sent: list[str] = []

    def deliver_message(self, record: AlertRecord, msg: EmailMessage, store: Store) -> str:
        """Outbox + SMTP for an already composed message (the daily briefing)."""
        path = self._write_outbox(record, msg)
        if not self.settings.app.smtp.host:
            store.set_alert_status(record.key, "outbox", str(path))
            return "outbox"
        to = [a.addr_spec for a in msg["To"].addresses] if msg["To"] else []
        try:
            self._send(msg, to)
        except NotifyError as exc:
            log.error("%s: e-mail not sent: %s", record.key, exc)
            store.set_alert_status(record.key, "failed", str(exc))
            return "failed"
        store.set_alert_status(record.key, "sent", str(path))
        return "sent"

    def deliver(self, record: AlertRecord, store: Store) -> str:
        """Write the e-mail to the outbox, send it if SMTP is configured, post to webhooks.

        Returns the alert's new status, which follows the e-mail (the channel that is retried).
        """
        msg = compose(record, self.settings)
        path = self._write_outbox(record, msg)
        hooks = self._webhooks(record) if record.status == "pending" else ""
        if not self.settings.app.smtp.host:
            store.set_alert_status(record.key, "outbox", f"{path}{hooks}")
            return "outbox"
        try:
            self._send(msg, recipients_for(record, self.settings))
        except NotifyError as exc:
            n = attempts(record) + 1
            pause = min(RETRY_FIRST * 2 ** (n - 1), RETRY_MAX)
            log.error("alert %s: e-mail not sent (attempt %d), retried in %s or later: %s", record.key, n, pause, exc)
            store.set_alert_status(record.key, "failed", f"attempt {n}: {exc}{hooks}")
            return "failed"
        store.set_alert_status(record.key, "sent", f"{path}{hooks}")
        self.sent.append(record.key)
        return "sent"

    def _webhooks(self, record: AlertRecord) -> str:
        """Post to every configured IM channel once; failures are logged and noted, not raised."""
        from alerts.webhooks import Webhook, render_markdown

        notes = []
        text = render_markdown(record, self.settings)
        for config in self.settings.app.webhooks:
            try:
                parts = Webhook(config).send(alert_subject(record), text)
                notes.append(f"{config.name}: {parts} message(s)")
            except NotifyError as exc:
                log.error("alert %s: %s", record.key, exc)
                notes.append(f"{config.name}: failed: {exc}")
        return ("; webhooks: " + "; ".join(notes)) if notes else ""

    def retry_undelivered(self, store: Store, now: datetime | None = None) -> int:
        if not self.settings.app.smtp.host:
            return 0
        now = now or datetime.now(UTC)
        failed = [a for a in store.alerts("failed") if retry_due(a, now)]
        stale = [a for a in store.alerts("pending") if a.created_at and now - a.created_at > STALE_PENDING]
        todo = [a for a in failed + stale if a.kind not in ("briefing", "source_health")]  # re-sent by their jobs
        for record in todo:
            self.deliver(record, store)
        return len(todo)

    def _write_outbox(self, record: AlertRecord, msg: EmailMessage) -> Path:
        self.outbox.mkdir(parents=True, exist_ok=True)
        local = record.window_start.astimezone(self.settings.tz)
        who = record.scheme_id if record.scheme_id != "*" else "all"
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{local:%Y%m%d-%H%M}-{who}-{record.kind}") + ".eml"
        path = self.outbox / name
        path.write_bytes(msg.as_bytes())
        return path

    def _send(self, msg: EmailMessage, to: list[str]) -> None:
        cfg = self.settings.app.smtp
        if not to:
            raise NotifyError("no recipients: set `recipients` in yuqing.yaml or in the scheme")
        for attempt in range(cfg.retries + 1):
            try:
                return self._send_once(msg)
            except NotifyError as exc:
                cause = exc.__cause__  # none: a configuration problem, which waiting does not fix
                permanent = cause is None or isinstance(cause, smtplib.SMTPAuthenticationError
                                                        | smtplib.SMTPRecipientsRefused)
                if permanent or attempt == cfg.retries:
                    raise
                delay = cfg.retry_delay * 2 ** attempt
                log.warning("%s; trying again in %.0f s", exc, delay)
                time.sleep(delay)

    def _send_once(self, msg: EmailMessage) -> None:
        cfg = self.settings.app.smtp
        try:
            if cfg.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout,
                                                         context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            with client:
                if cfg.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if cfg.username:
                    password = cfg.password()
                    if password is None:
                        raise NotifyError(f"smtp.username is set but ${cfg.password_env} is empty")
                    client.login(cfg.username, password)
                client.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotifyError(f"SMTP {cfg.host}:{cfg.port}: {type(exc).__name__}: {exc}") from exc
