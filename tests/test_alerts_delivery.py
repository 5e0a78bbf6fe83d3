"""Alert delivery against real local servers: HTTP (webhook, Slack), SMTP with STARTTLS, files."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from outagewatch.alerts.channels import SIGNATURE_HEADER, signature
from outagewatch.alerts.config import parse
from outagewatch.alerts.dispatch import Attempt, Dispatcher
from outagewatch.alerts.record import recorder, sent_keys
from outagewatch.detect.event import Event
from outagewatch.store.db import connect

KP_START = 1419264900  # 2014-12-22 16:15 UTC


def kp_event(end: int | None = None, severity: str = "critical", transition: str = "opened") -> Event:
    return Event(
        kind="outage",
        entity_type="country",
        entity="KP",
        start=KP_START,
        end=end,
        severity=severity,
        score=1.0,
        summary="All 4 prefixes of KP (1,024 /24-equivalents) disappeared from the global routing table.",
        updated_at=end or KP_START + 300,
        transition=transition,
        scope="full",
    )


class Recorder(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        srv: Any = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        srv.requests.append((self.path, dict(self.headers), body))
        queue = srv.statuses.get(self.path, [])
        status = queue.pop(0) if queue else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok" if status < 300 else b"nope")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http() -> Iterator[Any]:
    srv: Any = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    srv.requests, srv.statuses = [], {}
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    inbox = Inbox()
    port = _free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True)
    ctl.start()
    yield inbox, port, cert
    ctl.stop()


def _run(dispatcher: Dispatcher, events: list[Event]) -> int:
    async def go() -> int:
        dispatcher.start()
        n = dispatcher.submit(events)
        await asyncio.wait_for(dispatcher.drain(), 30)
        await dispatcher.close()
        return n

    return asyncio.run(go())


async def _no_sleep(_: float) -> None:
    return None


def test_every_channel_delivers_and_every_attempt_is_recorded(
    http: Any, smtp: tuple[Inbox, int, Path], tmp_path: Path
) -> None:
    inbox, port, cert = smtp
    url = f"http://127.0.0.1:{http.server_address[1]}"
    http.statuses = {"/hook": [500]}  # the webhook's first attempt fails, the retry succeeds
    doc = {
        "alerts": {
            "base_url": "https://ow.example/",
            "retries": 2,
            "channels": [
                {"type": "webhook", "name": "ops", "url": f"{url}/hook", "secret_env": "OW_SECRET"},
                {"type": "slack", "url": f"{url}/slack"},
                {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": port,
                    "cafile": str(cert),
                    "to": ["noc@x.test"],
                },
                {"type": "jsonl", "path": str(tmp_path / "alerts.jsonl")},
            ],
        }
    }
    cfg = parse(doc, {"OW_SECRET": "s3cret"})
    con = connect(tmp_path / "ow.duckdb")
    n = _run(Dispatcher(cfg, recorder(con), sleep=_no_sleep), [kp_event()])
    assert n == 4
    hooks = [r for r in http.requests if r[0] == "/hook"]
    assert len(hooks) == 2
    _, headers, body = hooks[-1]
    assert headers[SIGNATURE_HEADER] == signature("s3cret", body)
    payload = json.loads(body)
    assert payload["entity"] == "KP" and payload["state"] == "open/critical"
    assert payload["url"] == f"https://ow.example/events/{kp_event().event_id}"
    assert "16:15 UTC 22 Dec 2014" in payload["report"]
    slack = json.loads(next(r[2] for r in http.requests if r[0] == "/slack"))
    assert "Outage (full) of KP" in slack["text"] and payload["url"] in slack["text"]
    assert len(inbox.messages) == 1
    sender, rcpt, content = inbox.messages[0]
    assert sender == "outagewatch@localhost"
    assert rcpt == ["noc@x.test"] and "Outage (full) of KP" in content and payload["url"] in content
    line = json.loads((tmp_path / "alerts.jsonl").read_text())
    assert line["event_id"] == kp_event().event_id
    rows = con.execute(
        "SELECT channel, attempt, ok, status, error FROM alert_deliveries ORDER BY channel, attempt"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("email", 1, True),
        ("jsonl", 1, True),
        ("ops", 1, False),
        ("ops", 2, True),
        ("slack", 1, True),
    ]
    assert "HTTP 500" in rows[2][4]


def test_dedup_per_state_change_and_restart(http: Any, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{http.server_address[1]}/hook"
    cfg = parse({"alerts": {"channels": [{"type": "webhook", "url": url}]}}, {})
    con = connect(tmp_path / "ow.duckdb")
    bins = [kp_event(transition="opened"), kp_event(transition="updated"), kp_event(transition="updated")]
    assert _run(Dispatcher(cfg, recorder(con)), bins) == 1
    # a restarted watcher loads what was sent: the same state is not alerted again; closing is
    again = Dispatcher(cfg, recorder(con), sent=sent_keys(con))
    closed = kp_event(end=KP_START + 9 * 3600 + 31 * 60, transition="closed")
    assert _run(again, [kp_event(transition="updated"), closed]) == 1
    states = [json.loads(r[2])["state"] for r in http.requests]
    assert states == ["open/critical", "closed/critical"]
    report = json.loads(http.requests[1][2])["report"]
    assert "from 16:15 UTC 22 Dec 2014 to 01:46 UTC 23 Dec (9 h 31 m)" in report


def test_a_dead_channel_does_not_block_the_others(http: Any, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/nothing-listens"
    good = f"http://127.0.0.1:{http.server_address[1]}/hook"
    doc = {
        "alerts": {
            "retries": 3,
            "backoff_seconds": 0.01,
            "channels": [{"type": "webhook", "name": "dead", "url": dead}, {"type": "webhook", "url": good}],
        }
    }
    rows: list[Attempt] = []
    _run(Dispatcher(parse(doc, {}), rows.append), [kp_event()])
    dead_rows = [r for r in rows if r.channel == "dead"]
    assert [r.attempt for r in dead_rows] == [1, 2, 3, 4] and not any(r.ok for r in dead_rows)
    assert all("ConnectError" in (r.error or "") for r in dead_rows)
    assert [r.ok for r in rows if r.channel == "webhook"] == [True]
    assert len(http.requests) == 1


def test_smtp_without_starttls_is_refused_by_a_starttls_server(
    smtp: tuple[Inbox, int, Path], tmp_path: Path
) -> None:
    inbox, port, _ = smtp
    ch = {"type": "email", "host": "127.0.0.1", "port": port, "starttls": False, "to": ["a@x.test"]}
    rows: list[Attempt] = []
    _run(Dispatcher(parse({"alerts": {"retries": 0, "channels": [ch]}}, {}), rows.append), [kp_event()])
    assert len(rows) == 1 and not rows[0].ok and "SMTP" in (rows[0].error or "")
    assert inbox.messages == []
