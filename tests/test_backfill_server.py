"""A loopback HTTP archive server for the backfill tests (and tests of the server itself).

Serves a directory tree laid out like data.ris.ripe.net / archive.routeviews.org with directory
index pages and HTTP Range support. Faults, per server: ``cut`` (the first N GETs of each file
stop after a few bytes although Content-Length announced the whole file), ``lie`` (the file is
served truncated *with a matching* Content-Length, so only decompression can tell) and ``gone``
(paths answering 404).
"""

from __future__ import annotations

import gzip
import os
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RIS_WEEK = SHARED / "mrt" / "ris-2022-week"


@dataclass
class Faults:
    cut_first: int = 0
    cut_at: int = 1000
    lie: bool = False
    gone: set[str] = field(default_factory=set)
    requests: Counter[str] = field(default_factory=Counter)
    ranges: list[str] = field(default_factory=list)


def _handler(root: Path, faults: Faults) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            rel = self.path.split("?", 1)[0].lstrip("/")
            faults.requests[rel] += 1
            if rel in faults.gone:
                self.send_error(404, "gone")
                return
            local = root / rel
            if not local.is_file():
                super().do_GET()
                return
            self._send_file(rel, local.read_bytes())

        def _send_file(self, rel: str, data: bytes) -> None:
            if faults.lie:
                data = data[: len(data) // 2]
            start = 0
            rng = self.headers.get("Range")
            if rng:
                faults.ranges.append(f"{rel} {rng}")
                start = int(rng.split("=", 1)[1].split("-", 1)[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if faults.requests[rel] <= faults.cut_first:
                self.wfile.write(body[: faults.cut_at])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(root: Path, faults: Faults | None = None) -> Iterator[tuple[str, Faults]]:
    """Serve ``root`` on 127.0.0.1 (a free port); yields the base URL and the fault record."""
    f = faults or Faults()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(root, f))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", f
    finally:
        server.shutdown()
        server.server_close()


def link(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
    return dest


def ris_tree(tmp: Path, collector: str = "rrc04") -> Path:
    """The real ris-2022-week files in RIS layout, plus a real RIS bview (2002) as the 00:00 RIB.

    The RIB is the real bgpdump test bview (different date, renamed): what matters here is
    that it is a genuine RIS RIB dump file standing where the plan looks for one.
    """
    root = tmp / "archive"
    for f in sorted(RIS_WEEK.glob("updates.*.gz")):
        month = f"{f.name[8:12]}.{f.name[12:14]}"
        link(f, root / collector / month / f.name)
    bview = SHARED / "mrt" / "bgpdump-tests" / "test_data" / "bview.20020722.2337.gz"
    link(bview, root / collector / "2022.02" / "bview.20220206.0000.gz")
    link(bview, root / collector / "2022.02" / "bview.20220206.0800.gz")
    return root


def routeviews_tree(tmp: Path) -> Path:
    """The real RouteViews Sydney update files in RouteViews layout, plus a tiny RIB."""
    root = tmp / "archive"
    modern = SHARED / "mrt" / "modern"
    for name in ("sydney.updates.20220601.0230.bz2", "sydney.updates.20220601.0415.bz2"):
        link(
            modern / name, root / "route-views.sydney/bgpdata/2022.06/UPDATES" / name.removeprefix("sydney.")
        )
    rib = SHARED / "mrt" / "lab" / "quagga_rib"
    dest = root / "route-views.sydney/bgpdata/2022.06/RIBS/rib.20220601.0200.bz2"
    dest.parent.mkdir(parents=True, exist_ok=True)
    import bz2

    dest.write_bytes(bz2.compress(rib.read_bytes()))
    return root


# --- tests of the server itself: the fixtures other tests rely on must behave as described ---


@pytest.fixture
def tree(tmp_path: Path, shared_data: Path) -> Path:
    return ris_tree(tmp_path)


@pytest.mark.shared
def test_server_lists_directories_and_honours_ranges(tree: Path) -> None:
    with serve(tree) as (base, _):
        index = httpx.get(f"{base}/rrc04/2022.02/")
        assert index.status_code == 200 and "updates.20220206.0725.gz" in index.text
        whole = httpx.get(f"{base}/rrc04/2022.02/updates.20220206.0725.gz").content
        tail = httpx.get(f"{base}/rrc04/2022.02/updates.20220206.0725.gz", headers={"Range": "bytes=100-"})
        assert tail.status_code == 206 and tail.content == whole[100:]
        assert gzip.decompress(whole)[:4]  # real gzip data


@pytest.mark.shared
def test_server_faults_cut_and_404(tree: Path) -> None:
    rel = "rrc04/2022.02/updates.20220206.0725.gz"
    with serve(tree, Faults(cut_first=1, cut_at=500, gone={rel.replace("0725", "0730")})) as (base, _):
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{base}/{rel}")
        assert httpx.get(f"{base}/{rel}").status_code == 200
        assert httpx.get(f"{base}/{rel.replace('0725', '0730')}").status_code == 404
