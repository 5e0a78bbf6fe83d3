"""Alert channels: webhook (HMAC-signed JSON), Slack incoming webhook, SMTP e-mail, JSON lines.

A channel is an object with ``name`` and ``async send(alert) -> str`` returning a short status
(``HTTP 200``, ``250 sent``, ``written``) and raising :class:`DeliveryError` (or any exception)
on failure. Channels hold no retry logic and no timers: :mod:`outagewatch.alerts.dispatch`
retries, times out and records.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import ssl
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import httpx

from outagewatch.alerts.config import ChannelConfig
from outagewatch.alerts.message import Alert

SIGNATURE_HEADER = "X-Outagewatch-Signature"


class DeliveryError(Exception):
    """A channel could not deliver (the message says why)."""


class Channel(Protocol):
    name: str

    async def send(self, alert: Alert) -> str: ...


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact request body with the shared secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    def __init__(self, name: str, url: str, secret: str, timeout: float) -> None:
        self.name, self.url, self.secret, self.timeout = name, url, secret, timeout

    async def send(self, alert: Alert) -> str:
        body = json.dumps(alert.payload, sort_keys=True).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "outagewatch"}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        return await _post(self.url, body, headers, self.timeout)


class SlackChannel:
    def __init__(self, name: str, url: str, timeout: float) -> None:
        self.name, self.url, self.timeout = name, url, timeout

    async def send(self, alert: Alert) -> str:
        text = f"*{alert.subject}*\n{alert.text.strip()}\n<{alert.url}|Open the event page>"
        body = json.dumps({"text": text}).encode("utf-8")
        return await _post(self.url, body, {"Content-Type": "application/json"}, self.timeout)


async def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> str:
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            resp = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"POST {url}: {type(exc).__name__}: {exc}") from exc
    if resp.status_code >= 300:
        raise DeliveryError(f"POST {url}: HTTP {resp.status_code} {resp.text[:200]}")
    return f"HTTP {resp.status_code}"


class EmailChannel:
    """SMTP with STARTTLS (unless ``starttls = false``), optional login; runs in a thread."""

    def __init__(self, cfg: ChannelConfig, timeout: float) -> None:
        self.name, self.cfg, self.timeout = cfg.name, cfg, timeout

    async def send(self, alert: Alert) -> str:
        return await asyncio.to_thread(self._send, alert)

    def _send(self, alert: Alert) -> str:
        c = self.cfg
        msg = EmailMessage()
        msg["Subject"] = alert.subject
        msg["From"] = str(c.get("sender"))
        msg["To"] = ", ".join(c.get("to"))
        msg.set_content(alert.text)
        host, port = str(c.get("host")), int(c.get("port"))
        try:
            with smtplib.SMTP(host, port, timeout=self.timeout) as smtp:
                if c.get("starttls"):
                    cafile = c.get("cafile") or None
                    smtp.starttls(context=ssl.create_default_context(cafile=cafile))
                if c.get("username"):
                    smtp.login(str(c.get("username")), str(c.get("password")))
                refused = smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {host}:{port}: {type(exc).__name__}: {exc}") from exc
        if refused:
            raise DeliveryError(f"SMTP {host}:{port}: refused {sorted(refused)}")
        return f"sent to {len(c.get('to'))} recipient(s)"


class JsonLinesChannel:
    def __init__(self, name: str, path: str) -> None:
        self.name, self.path = name, path

    async def send(self, alert: Alert) -> str:
        line = json.dumps(alert.payload, sort_keys=True) + "\n"
        if self.path == "-":
            sys.stdout.write(line)
            sys.stdout.flush()
        else:
            await asyncio.to_thread(_append, Path(self.path), line)
        return "written"


def _append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line)


def make(cfg: ChannelConfig, timeout: float) -> Channel:
    if cfg.type == "webhook":
        return WebhookChannel(cfg.name, str(cfg.get("url")), str(cfg.get("secret")), timeout)
    if cfg.type == "slack":
        return SlackChannel(cfg.name, str(cfg.get("url")), timeout)
    if cfg.type == "email":
        return EmailChannel(cfg, timeout)
    return JsonLinesChannel(cfg.name, str(cfg.get("path")))
