"""Open an input file, transparently decompressing gzip or bzip2 detected by magic bytes.

``open_input(source)`` returns an :class:`InputStream` delivering the *decompressed* bytes with
bounded memory whatever the file size. The codec is chosen from the first bytes (``1f 8b`` gzip,
``BZh`` bzip2, anything else plain), never from the file name. Concatenated gzip members and
concatenated bzip2 streams are read as one stream; zero padding after the last member is ignored.

Decoders (measured in ``docs/decompression.md``): gzip through ``isal.isal_zlib`` (Intel ISA-L,
about 2× stdlib ``zlib``), bzip2 through stdlib ``bz2`` or, for files on machines with spare
cores, ``indexed_bzip2`` in parallel (with a stdlib re-decode on any error, so damaged input is
reported exactly as stdlib would); stdlib ``zlib`` is the fallback when ``isal`` is missing.
We drive the incremental decompressor objects ourselves instead of the libraries' file objects
because those lose the last partially filled read buffer on a truncated stream, and a truncated
stream must yield every decodable byte before :class:`TruncatedInput`.

Errors: unusable inputs (missing, unreadable, a directory, empty) raise
:class:`outagewatch.model.problem.MrtError` with one line naming the file. A stream cut short
first delivers all bytes decoded before the cut, then the next read raises
:class:`TruncatedInput` (an ``EOFError``) whose ``offset`` is the count of decompressed bytes
delivered. Corrupt compressed data raises :class:`CorruptInput` (an ``MrtError``), also with
``offset``; bytes decoded before the damage are delivered first.
"""

from __future__ import annotations

import bz2
import os
import stat
import zlib
from types import ModuleType, TracebackType
from typing import Any, BinaryIO, Final, Literal, Protocol

from outagewatch.model.problem import MrtError

_gzip_impl: ModuleType
try:  # pragma: no branch - depends on the environment
    from isal import isal_zlib as _isal_zlib

    _gzip_impl = _isal_zlib
except ImportError:  # pragma: no cover - fallback when isal is not installed
    _gzip_impl = zlib
GZIP_BACKEND: Final[str] = _gzip_impl.__name__.rpartition(".")[2].replace("isal_zlib", "isal")

_parallel_bz2: ModuleType | None
try:  # pragma: no branch - depends on the environment
    import indexed_bzip2 as _indexed_bzip2

    _parallel_bz2 = _indexed_bzip2
except ImportError:  # pragma: no cover - stdlib bz2 only
    _parallel_bz2 = None

Codec = Literal["plain", "gzip", "bzip2"]

GZIP_MAGIC: Final = b"\x1f\x8b"
BZIP2_MAGIC: Final = b"BZh"
RAW_CHUNK: Final = 1 << 20  # compressed bytes read from the file at a time
MIN_OUT: Final = 1 << 18  # smallest decoded block produced for small read() calls


class TruncatedInput(EOFError):
    """The compressed stream ended before its end-of-stream marker.

    ``offset`` is the number of decompressed bytes delivered before the cut.
    """

    def __init__(self, name: str, codec: str, offset: int) -> None:
        super().__init__(f"{name}: truncated {codec} stream, input ends after {offset} decompressed bytes")
        self.name = name
        self.offset = offset


class CorruptInput(MrtError):
    """The compressed data is damaged (bad CRC, invalid block, garbage after a member)."""

    def __init__(self, name: str, codec: str, offset: int, cause: str) -> None:
        super().__init__(f"{name}: corrupt {codec} data after {offset} decompressed bytes: {cause}")
        self.name = name
        self.offset = offset


class _Decoder(Protocol):
    """The subset of the zlib / bz2 incremental decompressor API we use."""

    @property
    def needs_input(self) -> bool: ...
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int) -> bytes: ...


class _ZlibDecoder:
    """A zlib-style decompressobj (gzip framing) behind the bz2-style ``needs_input`` API."""

    def __init__(self) -> None:
        self._d = _gzip_impl.decompressobj(31)
        self._tail = b""

    @property
    def needs_input(self) -> bool:
        return not self._tail

    @property
    def eof(self) -> bool:
        return bool(self._d.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._d.unused_data)

    def decompress(self, data: bytes, max_length: int) -> bytes:
        out = self._d.decompress(self._tail + data if self._tail else data, max_length)
        self._tail = bytes(self._d.unconsumed_tail)
        return bytes(out)


def _new_decoder(codec: Codec) -> _Decoder:
    if codec == "gzip":
        return _ZlibDecoder()
    return bz2.BZ2Decompressor()


_DECODE_ERRORS: Final[tuple[type[Exception], ...]] = (
    zlib.error,
    _gzip_impl.error,
    OSError,
    ValueError,
    EOFError,
)


def _open_raw(source: str | os.PathLike[str] | BinaryIO) -> tuple[BinaryIO, str, bool]:
    """The raw binary file, its display name and whether we own (must close) it."""
    if isinstance(source, str | os.PathLike):
        name = os.fspath(source)
        try:
            return open(name, "rb"), name, True  # closed by InputStream.close
        except FileNotFoundError:
            raise MrtError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise MrtError(f"{name}: is a directory, not a file") from None
        except PermissionError:
            raise MrtError(f"{name}: permission denied") from None
        except OSError as exc:
            raise MrtError(f"{name}: cannot open: {exc.strerror or exc}") from None
    raw_name = getattr(source, "name", None)
    return source, raw_name if isinstance(raw_name, str) else repr(source), False


def _read_exact(raw: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, short only at end of file."""
    parts: list[bytes] = []
    while n > 0:
        block = raw.read(n)
        if not block:
            break
        parts.append(block)
        n -= len(block)
    return b"".join(parts)


def _detect(head: bytes) -> Codec:
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    return "plain"


class InputStream:
    """Decompressed bytes of one input; see the module docstring for the error contract."""

    def __init__(
        self, raw: BinaryIO, name: str, codec: Codec, head: bytes, owns_raw: bool, threads: int = 1
    ) -> None:
        self.name = name
        self.codec: Codec = codec
        self._raw = raw
        self._owns_raw = owns_raw
        self._pending = head  # raw bytes read but not yet used
        self._decoder: _Decoder | None = None
        self._buf = b""  # decoded bytes not yet delivered
        self._pos = 0
        self._delivered = 0
        self._decoded = 0  # decompressed bytes produced so far (delivered or buffered)
        self._error: Exception | None = None  # raised on the read after the good bytes
        self._skip = 0  # decoded bytes to drop after falling back from the parallel decoder
        self._parallel: Any = None
        if codec == "bzip2" and threads > 1 and owns_raw and _parallel_bz2 is not None:
            try:
                self._parallel = _parallel_bz2.open(name, parallelization=threads)
            except Exception:  # damaged first block: the stdlib path reports it precisely
                self._parallel = None
        self._closed = False

    def raw_size(self) -> int | None:
        """Size of the underlying file in bytes, when it is a regular file (None otherwise)."""
        try:
            st = os.fstat(self._raw.fileno())
        except (AttributeError, OSError, ValueError):
            return None
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    @property
    def delivered(self) -> int:
        """Decompressed bytes returned to the caller so far."""
        return self._delivered

    # -- raw side -------------------------------------------------------------------------
    def _raw_read(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        return self._raw.read(RAW_CHUNK)

    def _start_member(self) -> bool:
        """Begin the next gzip member / bzip2 stream; False at a clean end of input."""
        data = b""
        while True:
            more = self._raw_read()
            if not more:
                break
            data = (data + more).lstrip(b"\0")  # zero padding after the last member is allowed
            if len(data) >= len(BZIP2_MAGIC):
                break
        if not data:
            return False
        if _detect(data) != self.codec:
            raise CorruptInput(self.name, self.codec, self._decoded, "trailing data is not a new member")
        self._pending = data
        self._decoder = _new_decoder(self.codec)
        return True

    # -- decoding -------------------------------------------------------------------------
    def _decode(self, max_length: int) -> bytes:
        """The next decoded block (at most ``max_length`` bytes); b"" at a clean end of input."""
        if self.codec == "plain":
            return self._raw_read() if self._pending else self._raw.read(max_length)
        if self._parallel is not None:
            out = self._parallel_read(max_length)
            if out is not None:
                return out
        while True:
            if self._decoder is None and not self._start_member():
                return b""
            dec = self._decoder
            assert dec is not None
            data = self._raw_read() if dec.needs_input else b""
            try:
                out = dec.decompress(data, max_length)
            except _DECODE_ERRORS as exc:
                raise CorruptInput(self.name, self.codec, self._decoded, str(exc)) from None
            if dec.eof:
                self._pending = dec.unused_data + self._pending
                self._decoder = None
            elif not out and not data and dec.needs_input:
                raise TruncatedInput(self.name, self.codec, self._decoded)
            if self._skip:
                drop = min(self._skip, len(out))
                out, self._skip = out[drop:], self._skip - drop
            if out:
                self._decoded += len(out)
                return out

    def _parallel_read(self, max_length: int) -> bytes | None:
        """Next block from the parallel bzip2 decoder; None once it has failed.

        indexed_bzip2 checks block CRCs but loses the last partial block on a truncated stream
        and raises untyped errors, so on any failure we re-decode from the start with stdlib
        ``bz2`` and drop the bytes already delivered: the stdlib decoder then yields every
        decodable byte and the precise error.
        """
        try:
            out: bytes = self._parallel.read(max_length)
        except Exception:  # the library raises RuntimeError/ValueError/std::exception
            self._close_parallel()
            self._raw.seek(0)
            self._pending, self._decoder, self._skip = b"", None, self._decoded
            return None
        if not out:  # clean end: leave the stdlib path nothing to read
            self._close_parallel()
            self._pending = b""
            self._raw.seek(0, os.SEEK_END)
        self._decoded += len(out)
        return out

    def _close_parallel(self) -> None:
        parallel, self._parallel = self._parallel, None
        if parallel is not None:
            parallel.close()

    def _next_block(self, want: int) -> bytes:
        """Decode the next block, holding back an error until the good bytes are delivered."""
        if self._error is not None:
            raise self._error
        try:
            return self._decode(want)
        except (TruncatedInput, CorruptInput) as exc:
            self._error = exc
            return b""

    # -- public reading API ---------------------------------------------------------------
    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all remaining when ``n < 0``); short only at end of input or just
        before a truncation/corruption error, which the following call raises."""
        self._check_open()
        if n < 0:
            return self._read_all()
        parts: list[bytes] = []
        need = n
        while need > 0:
            if self._pos < len(self._buf):
                piece = self._buf[self._pos : self._pos + need]
                self._pos += len(piece)
            else:
                if parts and self._error is not None:
                    break
                block = self._next_block(max(need, MIN_OUT))
                if not block:
                    if self._error is not None and not parts:
                        raise self._error
                    break
                self._buf, self._pos = block, 0
                continue
            parts.append(piece)
            need -= len(piece)
        out = parts[0] if len(parts) == 1 else b"".join(parts)
        self._delivered += len(out)
        return out

    def _read_all(self) -> bytes:
        parts: list[bytes] = []
        while block := self.read(1 << 22):
            parts.append(block)
        return b"".join(parts)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Fill ``buffer``; the count is short only at end of input or before an error."""
        self._check_open()
        mv = memoryview(buffer).cast("B")
        filled = 0
        size = len(mv)
        while filled < size:
            if self._pos < len(self._buf):
                take = min(size - filled, len(self._buf) - self._pos)
                mv[filled : filled + take] = memoryview(self._buf)[self._pos : self._pos + take]
                self._pos += take
                filled += take
                continue
            if filled and self._error is not None:
                break
            if self.codec == "plain" and not self._pending and self._error is None:
                got = self._raw.readinto(mv[filled:])  # type: ignore[attr-defined]
                if not got:
                    break
                filled += got
                continue
            block = self._next_block(max(size - filled, MIN_OUT))
            if not block:
                if self._error is not None and not filled:
                    raise self._error
                break
            self._buf, self._pos = block, 0
        self._delivered += filled
        return filled

    # -- lifecycle ------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"{self.name}: read from a closed input")

    def close(self) -> None:
        """Close the file if we opened it (a caller's file object stays open)."""
        if not self._closed:
            self._closed = True
            self._buf = b""
            self._close_parallel()
            if self._owns_raw:
                self._raw.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> InputStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"InputStream({self.name!r}, codec={self.codec!r})"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity; all cores where that is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def auto_threads() -> int:
    """bzip2 decoding threads for ``open_input(threads=None)``: 2 with ≥ 4 usable cores, else 1."""
    return 2 if usable_cores() >= 4 else 1


def open_input(source: str | os.PathLike[str] | BinaryIO, *, threads: int | None = None) -> InputStream:
    """Open ``source`` (a path or a binary file object) and return its decompressed stream.

    ``threads > 1`` decodes bzip2 *files* (not file objects) with indexed_bzip2 on that many
    threads: about 2× stdlib when cores are free, but 2-3× *slower* than stdlib when the cores
    are busy (measured in docs/decompression.md). ``None`` picks 2 when at least 4 cores are
    usable (the caller's parsing thread keeps one busy), else 1 (stdlib ``bz2`` only).

    Raises :class:`MrtError` naming the file when it is missing, unreadable or empty.
    """
    raw, name, owns = _open_raw(source)
    try:
        head = _read_exact(raw, len(BZIP2_MAGIC))
    except OSError as exc:
        if owns:
            raw.close()
        raise MrtError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if not head:
        if owns:
            raw.close()
        raise MrtError(f"{name}: empty file")
    return InputStream(raw, name, _detect(head), head, owns, auto_threads() if threads is None else threads)
