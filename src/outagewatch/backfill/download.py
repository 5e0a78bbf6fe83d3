"""Fetching archive files into a local cache: parallel, resumable, verified, retried.

The cache mirrors the archive layout (``{cache}/rrc00/2022.02/updates.20220206.0725.gz``), so a
cache directory is itself a valid ``--base-url`` and works offline. A file enters the cache only
after :func:`~outagewatch.backfill.verify.verify_file` has read its compressed stream to the end;
a ``.part`` file holds an interrupted transfer and is resumed with an HTTP ``Range`` request.
A base that is a local directory (or ``file://`` URL) is read in place, never copied.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import httpx

from outagewatch.backfill.layout import ArchiveFile, join_url, listing_names
from outagewatch.backfill.verify import VerifyError, verify_file

Status = Literal["cached", "downloaded", "local", "missing", "failed"]
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class FetchResult:
    file: ArchiveFile
    status: Status
    path: Path | None
    bytes: int = 0
    attempts: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.path is not None


@dataclass(frozen=True, slots=True)
class FetchOptions:
    parallel: int = 4
    attempts: int = 4
    backoff: float = 0.5
    """Seconds before the first retry; doubles each time."""
    timeout: float = 60.0
    offline: bool = False


class _Retry(Exception):
    """A transient failure: try again (from where the .part file ends)."""


class _Missing(Exception):
    """The server says the file does not exist."""


def local_root(base: str) -> Path | None:
    """The directory a base names when it is local (a path or ``file://`` URL), else ``None``."""
    parts = urlsplit(base)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme in ("http", "https"):
        return None
    return Path(base)


class Cache:
    """Verified archive files below ``root``, laid out as in the archive."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, f: ArchiveFile) -> Path:
        return self.root / f.path

    def _stamp(self, f: ArchiveFile) -> Path:
        p = self.path(f)
        return p.with_name(p.name + ".verified")

    def get(self, f: ArchiveFile) -> Path | None:
        """The cached file when present and verified at its current size."""
        p, stamp = self.path(f), self._stamp(f)
        if not p.is_file() or not stamp.is_file():
            return None
        try:
            size = int(json.loads(stamp.read_text())["bytes"])
        except (ValueError, KeyError, OSError):
            return None
        return p if size == p.stat().st_size else None

    def put(self, f: ArchiveFile, part: Path) -> Path:
        """Move a verified ``.part`` into place and stamp it."""
        p = self.path(f)
        part.replace(p)
        self._stamp(f).write_text(json.dumps({"bytes": p.stat().st_size}))
        return p


def _content_total(resp: httpx.Response, have: int) -> int | None:
    if resp.status_code == 206:
        rng = resp.headers.get("content-range", "")
        total = rng.rsplit("/", 1)[-1]
        return int(total) if total.isdigit() else None
    length = resp.headers.get("content-length")
    return int(length) if length and length.isdigit() else None


def _transfer(client: httpx.Client, url: str, part: Path, progress: Progress) -> int | None:
    """One HTTP attempt into ``part`` (resuming); returns the size the server announced."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with client.stream("GET", url, headers=headers) as resp:
            if resp.status_code == 404 or resp.status_code == 410:
                raise _Missing(f"{url}: HTTP {resp.status_code}")
            if resp.status_code == 416 and have:
                return None  # the .part already holds everything; verification decides
            if resp.status_code >= 500 or resp.status_code == 429:
                raise _Retry(f"{url}: HTTP {resp.status_code}")
            if resp.status_code not in (200, 206):
                raise _Missing(f"{url}: HTTP {resp.status_code}")
            total = _content_total(resp, have)
            mode = "ab" if resp.status_code == 206 else "wb"
            with part.open(mode) as out:
                for chunk in resp.iter_raw():
                    out.write(chunk)
                    progress(len(chunk))
    except httpx.HTTPError as exc:
        raise _Retry(f"{url}: {type(exc).__name__}: {exc}") from exc
    got = part.stat().st_size
    if total is not None and got < total:
        raise _Retry(f"{url}: transfer cut short at byte {got} of {total}")
    return total


def _fetch_http(
    client: httpx.Client, f: ArchiveFile, base: str, cache: Cache, opts: FetchOptions, progress: Progress
) -> FetchResult:
    url = f.url(base)
    dest = cache.path(f)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    error = ""
    for attempt in range(1, opts.attempts + 1):
        try:
            total = _transfer(client, url, part, progress)
            verify_file(part, total)
            size = part.stat().st_size
            return FetchResult(f, "downloaded", cache.put(f, part), size, attempt)
        except _Missing as exc:
            part.unlink(missing_ok=True)
            return FetchResult(f, "missing", None, 0, attempt, str(exc))
        except _Retry as exc:
            error = str(exc)
        except VerifyError as exc:
            error = f"{url}: {exc}"
            part.unlink(missing_ok=True)  # a whole-but-broken file will not heal by resuming
        if attempt < opts.attempts:
            time.sleep(opts.backoff * 2 ** (attempt - 1))
    return FetchResult(f, "failed", None, 0, opts.attempts, error)


def _fetch_local(f: ArchiveFile, root: Path) -> FetchResult:
    p = root / f.path
    if not p.is_file():
        return FetchResult(f, "missing", None, 0, 1, f"{p}: no such file")
    try:
        verify_file(p)
    except VerifyError as exc:
        return FetchResult(f, "failed", None, 0, 1, str(exc))
    return FetchResult(f, "local", p, p.stat().st_size, 1)


def fetch_one(
    client: httpx.Client | None,
    f: ArchiveFile,
    base: str,
    cache: Cache,
    opts: FetchOptions,
    progress: Progress = lambda n: None,
) -> FetchResult:
    """Bring one file to local disk: cache hit, local base, or a verified HTTP download."""
    hit = cache.get(f)
    if hit is not None:
        return FetchResult(f, "cached", hit, hit.stat().st_size, 0)
    root = local_root(base)
    if root is not None:
        return _fetch_local(f, root)
    if opts.offline or client is None:
        return FetchResult(f, "missing", None, 0, 0, f"{cache.path(f)}: not in the cache (offline)")
    return _fetch_http(client, f, base, cache, opts, progress)


@contextmanager
def _progress_bar(total_files: int, enabled: bool) -> Iterator[tuple[Progress, Callable[[], None]]]:
    if not enabled:
        yield (lambda n: None), (lambda: None)
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), transient=True
    )
    with bar:
        bytes_task = bar.add_task("downloading", total=None)
        files_task = bar.add_task(f"files (0/{total_files})", total=total_files)

        def advance_file() -> None:
            bar.advance(files_task)
            done = int(bar.tasks[files_task].completed)
            bar.update(files_task, description=f"files ({done}/{total_files})")

        yield (lambda n: bar.advance(bytes_task, n)), advance_file


def fetch_all(
    files: Sequence[ArchiveFile],
    base_for: Callable[[ArchiveFile], str],
    cache: Cache,
    opts: FetchOptions = FetchOptions(),
    *,
    progress: bool | None = None,
    client: httpx.Client | None = None,
) -> list[FetchResult]:
    """Fetch ``files`` with up to ``opts.parallel`` transfers; results in the order of ``files``."""
    show = sys.stderr.isatty() if progress is None else progress
    own = client is None and not opts.offline
    http = client or (httpx.Client(timeout=opts.timeout, follow_redirects=True) if own else None)
    try:
        with _progress_bar(len(files), show) as (on_bytes, on_file):

            def one(f: ArchiveFile) -> FetchResult:
                res = fetch_one(http, f, base_for(f), cache, opts, on_bytes)
                on_file()
                return res

            with ThreadPoolExecutor(max_workers=max(1, opts.parallel)) as pool:
                return list(pool.map(one, files))
    finally:
        if own and http is not None:
            http.close()


def list_directory(client: httpx.Client | None, base: str, directory: str) -> list[str] | None:
    """Names in an archive directory: local ``listdir`` or an HTML index page.

    ``[]`` when the directory does not exist (HTTP 404), ``None`` when it cannot be listed
    (no index pages, offline, network failure): the caller then plans from the schedule.
    """
    root = local_root(base)
    if root is not None:
        d = root / directory
        return sorted(p.name for p in d.iterdir()) if d.is_dir() else []
    if client is None:
        return None
    try:
        resp = client.get(join_url(base, directory) + "/")
    except httpx.HTTPError:
        return None
    if resp.status_code == 404:
        return []
    if resp.status_code != 200 or "html" not in resp.headers.get("content-type", "html"):
        return None
    return listing_names(resp.text)


def clear_partials(cache: Cache) -> int:
    """Remove leftover ``.part`` files; returns how many (``outagewatch backfill --clean``)."""
    n = 0
    for p in cache.root.rglob("*.part"):
        p.unlink()
        n += 1
    return n


__all__ = [
    "Cache",
    "FetchOptions",
    "FetchResult",
    "clear_partials",
    "fetch_all",
    "fetch_one",
    "list_directory",
]
