"""Scenarios as TOML: ``loads``/``dumps`` (pure) and ``load_scenario`` (reads files).

Prefixes are either inline (``[[prefixes]]`` tables) or in a tab-separated file named by
``prefixes_file`` (relative to the TOML file): ``prefix<TAB>origin<TAB>upstreams<TAB>country``
with upstreams comma-separated and ``#`` comment lines.
"""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outagewatch.simulate.scenario import (
    Churn,
    Collector,
    Event,
    Peer,
    PrefixSpec,
    Scenario,
    Splice,
    validate,
)

BUILTIN_DIR = Path(__file__).parent / "scenarios"


def parse_prefix_lines(text: str, source: str = "<prefixes>") -> tuple[PrefixSpec, ...]:
    """Prefixes from the tab-separated format; errors name the source and line."""
    out: list[PrefixSpec] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        try:
            prefix, origin, ups, cc = cols[0], int(cols[1]), cols[2], cols[3].strip()
            upstreams = tuple(int(u) for u in ups.split(",") if u)
        except (IndexError, ValueError) as exc:
            raise ValueError(f"{source}:{n}: bad prefix line {line!r}: {exc}") from exc
        out.append(PrefixSpec(prefix, origin, upstreams, cc))
    return tuple(out)


def format_prefix_lines(prefixes: tuple[PrefixSpec, ...]) -> str:
    """The tab-separated form of prefixes (inverse of :func:`parse_prefix_lines`)."""
    rows = (f"{p.prefix}\t{p.origin}\t{','.join(map(str, p.upstreams))}\t{p.country}\n" for p in prefixes)
    return "".join(rows)


def _utc(value: Any, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{what}: expected a TOML datetime, got {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _build(cls: type[Any], raw: dict[str, Any], what: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - names
    if unknown:
        raise ValueError(f"{what}: unknown keys {sorted(unknown)}")
    return cls(**raw)


def _event(raw: dict[str, Any], i: int) -> Event:
    raw = dict(raw)
    raw["start"] = _utc(raw.get("start"), f"events[{i}].start")
    if raw.get("end") is not None:
        raw["end"] = _utc(raw["end"], f"events[{i}].end")
    for key in ("prefixes", "upstreams"):
        if key in raw:
            raw[key] = tuple(raw[key])
    ev: Event = _build(Event, raw, f"events[{i}]")
    return ev


def _collector(raw: dict[str, Any], i: int) -> Collector:
    raw = dict(raw)
    raw["peers"] = tuple(_build(Peer, p, f"collectors[{i}].peers") for p in raw.get("peers", ()))
    c: Collector = _build(Collector, raw, f"collectors[{i}]")
    return c


def loads(text: str, prefix_text: str | None = None) -> Scenario:
    """A scenario from TOML text; ``prefix_text`` is the content of its ``prefixes_file``."""
    raw = tomllib.loads(text)
    prefixes = tuple(_build(PrefixSpec, _tupled(p, "upstreams"), "prefixes") for p in raw.pop("prefixes", ()))
    if raw.get("prefixes_file") is not None:
        if prefix_text is None:
            raise ValueError(f"scenario needs its prefixes file {raw['prefixes_file']!r}")
        prefixes += parse_prefix_lines(prefix_text, raw["prefixes_file"])
    raw["prefixes"] = prefixes
    raw["start"] = _utc(raw.get("start"), "start")
    raw["end"] = _utc(raw.get("end"), "end")
    raw["collectors"] = tuple(_collector(c, i) for i, c in enumerate(raw.get("collectors", ())))
    raw["events"] = tuple(_event(e, i) for i, e in enumerate(raw.get("events", ())))
    raw["churn"] = _build(Churn, raw.get("churn", {}), "churn")
    raw["splice"] = tuple(_build(Splice, _tupled(s, "paths"), "splice") for s in raw.get("splice", ()))
    scenario: Scenario = _build(Scenario, raw, "scenario")
    validate(scenario)
    return scenario


def _tupled(raw: dict[str, Any], key: str) -> dict[str, Any]:
    return {**raw, key: tuple(raw[key])} if key in raw else raw


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name (``kp-2014``) or a scenario TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = BUILTIN_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise ValueError(f"unknown scenario {name_or_path!r}; built-in: {', '.join(builtin_names())}")
    text = path.read_text(encoding="utf-8")
    pfile = tomllib.loads(text).get("prefixes_file")
    prefix_text = (path.parent / pfile).read_text(encoding="utf-8") if pfile else None
    return loads(text, prefix_text)


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with the package."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))


# ---------------------------------------------------------------- dumping


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + "".join(_char(c) for c in v) + '"'
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(v, tuple | list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if dataclasses.is_dataclass(v):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in _fields(v)) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def _char(c: str) -> str:
    if c in '"\\':
        return "\\" + c
    return f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c


def _fields(obj: Any) -> list[tuple[str, Any]]:
    """Non-default, non-None fields of a dataclass instance, in declaration order."""
    out = []
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        if v is None or (v == default and f.default is not dataclasses.MISSING):
            continue
        out.append((f.name, v))
    return out


def _table(header: str, obj: Any, skip: tuple[str, ...] = ()) -> str:
    lines = [header] if header else []
    lines += [f"{k} = {_value(v)}" for k, v in _fields(obj) if k not in skip]
    return "\n".join(lines) + "\n"


def dumps(scenario: Scenario, *, inline_prefixes: bool = True) -> str:
    """TOML text for a scenario. With ``inline_prefixes=False`` the prefixes are left to the
    scenario's ``prefixes_file`` (write them with :func:`format_prefix_lines`)."""
    skip = ("collectors", "prefixes", "churn", "events", "splice")
    parts = [_table("", scenario, skip + (() if not inline_prefixes else ("prefixes_file",)))]
    parts.append(_table("[churn]", scenario.churn))
    for c in scenario.collectors:
        parts.append(_table("[[collectors]]", c))
    for e in scenario.events:
        parts.append(_table("[[events]]", e))
    for s in scenario.splice:
        parts.append(_table("[[splice]]", s))
    if inline_prefixes:
        for p in scenario.prefixes:
            parts.append(_table("[[prefixes]]", p))
    return "\n".join(parts)
