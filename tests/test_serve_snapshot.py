"""Serving does not block ingest: a writer process can open the store while the server runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from outagewatch.serve import create_app
from test_serve_support import build_store, running_server

WRITER = textwrap.dedent(
    """
    import sys, time
    from outagewatch.store.db import connect
    con = connect(sys.argv[1])
    con.execute(
        "INSERT INTO entities VALUES ('country', 'ZZ', 'Testland', 'ZZ')"
    )
    print("written", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
    print("closed", flush=True)
    """
)


def _countries(base: str) -> set[str]:
    r = httpx.get(base + "/api/v1/entities", params={"type": "country"})
    assert r.status_code == 200, r.text
    return {i["entity"] for i in r.json()["items"]}


def test_writer_can_open_store_while_serving_and_changes_appear(tmp_path: Path) -> None:
    db = build_store(tmp_path / "kp.duckdb")
    with running_server(create_app(db, refresh_seconds=0.1)) as base:
        assert "ZZ" not in _countries(base)
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), "1.5"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "written", writer.stderr.read() if writer.stderr else ""
        # the writer holds the store: the server keeps answering from its last snapshot
        for _ in range(5):
            assert "KP" in _countries(base)
            time.sleep(0.1)
        assert writer.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while "ZZ" not in _countries(base):
            assert time.monotonic() < deadline, "the server never picked up the writer's change"
            time.sleep(0.1)
        health = httpx.get(base + "/api/v1/health").json()
        assert health["snapshot"]["last_error"] is None


def test_serve_never_holds_the_live_file(tmp_path: Path) -> None:
    db = build_store(tmp_path / "kp.duckdb")
    with running_server(create_app(db)) as base:
        assert httpx.get(base + "/api/v1/overview").status_code == 200
        done = subprocess.run(
            [sys.executable, "-c", WRITER, str(db), "0"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert httpx.get(base + "/api/v1/overview").status_code == 200


def test_cli_refuses_a_missing_store(tmp_path: Path) -> None:
    import typer

    from outagewatch.cli import serve_cmd

    app = typer.Typer()
    serve_cmd.register(app)
    app.command("noop")(lambda: None)  # keep typer in multi-command mode
    result = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "absent.duckdb")])
    assert result.exit_code == 2
    assert "absent.duckdb: no such database" in result.output


def test_cli_default_store_falls_back_to_the_demo_store(tmp_path: Path) -> None:
    from outagewatch.cli.serve_cmd import default_store

    assert default_store(tmp_path) is None
    demo = tmp_path / "outagewatch-demo" / "kp-2014.duckdb"
    demo.parent.mkdir()
    demo.write_bytes(b"")
    assert default_store(tmp_path) == demo
    (tmp_path / "outagewatch.duckdb").write_bytes(b"")
    assert default_store(tmp_path) == tmp_path / "outagewatch.duckdb"


@pytest.mark.slow
def test_cli_serves_over_http(tmp_path: Path) -> None:
    import socket

    db = build_store(tmp_path / "kp.duckdb")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    code = "from outagewatch.cli import app; app()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["latest_bin"] == "2014-12-23T11:55:00Z"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
