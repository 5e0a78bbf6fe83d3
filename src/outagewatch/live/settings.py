"""Watcher settings: the ``[live]`` table of the configuration file, every key with its default.

``SETTINGS`` is the single list (docs/live.md documents each key; a test checks it). Command
line options override the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

from outagewatch.alerts.config import ConfigError
from outagewatch.sources.rislive import DEFAULT_URL, SUBSCRIBE_KEYS, ClientSettings

SETTINGS: Final[dict[str, tuple[Any, str]]] = {
    "live.url": (DEFAULT_URL, "RIS Live websocket URL"),
    "live.bin_seconds": (300, "bin width in seconds (60 … 86400)"),
    "live.include_raw": (False, "ask for raw BGP bytes and decode them instead of the JSON fields"),
    "live.ping_interval": (20.0, "seconds between websocket pings"),
    "live.ping_timeout": (20.0, "seconds to wait for a pong before dropping the connection"),
    "live.open_timeout": (10.0, "seconds to wait for the connection to open"),
    "live.idle_timeout": (120.0, "drop and reconnect when no message arrived for this long"),
    "live.backoff_initial": (1.0, "first reconnection delay in seconds; doubles per failed attempt"),
    "live.backoff_max": (60.0, "longest reconnection delay"),
    "live.jitter": (0.5, "reconnection delays are scaled by a random factor in [1 - jitter, 1]"),
    "live.max_batch": (20_000, "most messages decoded as one batch"),
    "live.max_pending": (100_000, "most received messages waiting to be decoded (then reading pauses)"),
    "live.close_grace_seconds": (30.0, "close a bin once the stream clock is this far past its end"),
    "live.full_feed_share": (
        0.75,
        "a peer is full-feed when its table is at least this share of the largest",
    ),
    "live.watch_prefixes": ([], "prefixes tracked as prefix entities (and detected on)"),
    "live.entity_types": (["global", "country", "as", "prefix"], "entity types the detectors run on"),
    "live.min_full_feed_peers": (3, "a bin is reliable when each family with full-feed peers has this many"),
    "live.countries": (True, "map prefixes to countries (needs the geo data; false skips country signals)"),
    "live.checkpoint_dir": ("", "checkpoint folder (default: <db>.live)"),
    "live.metrics_port": (0, "serve Prometheus text metrics on 127.0.0.1:<port>/metrics (0: off)"),
    "live.metrics_host": ("127.0.0.1", "address the metrics endpoint listens on"),
    "live.subscribe.host": ("", "only this route collector, e.g. rrc00"),
    "live.subscribe.type": ("", "only this message type (UPDATE, RIS_PEER_STATE, …)"),
    "live.subscribe.require": ("", "only messages with this key (announcements, withdrawals)"),
    "live.subscribe.peer": ("", "only messages from this BGP peer address"),
    "live.subscribe.path": ("", "AS path pattern, e.g. 131279$ (RIS Live syntax)"),
    "live.subscribe.prefix": ("", "prefix or list of prefixes to filter on"),
    "live.subscribe.moreSpecific": (True, "with prefix: include more-specific prefixes"),
    "live.subscribe.lessSpecific": (False, "with prefix: include less-specific prefixes"),
}


@dataclass(frozen=True)
class LiveSettings:
    client: ClientSettings = field(default_factory=ClientSettings)
    bin_seconds: int = 300
    close_grace_seconds: float = 30.0
    full_feed_share: float = 0.75
    watch_prefixes: tuple[str, ...] = ()
    entity_types: tuple[str, ...] = ("global", "country", "as", "prefix")
    min_full_feed_peers: int = 3
    countries: bool = True
    checkpoint_dir: str = ""
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"


_CLIENT_KEYS = {f.name for f in fields(ClientSettings)} - {"subscribe"}


def parse(
    doc: Mapping[str, Any], overrides: Mapping[str, Any] | None = None, source: str = "config"
) -> LiveSettings:
    """``[live]`` of a parsed TOML document, then ``overrides`` (command line, non-None only)."""
    live = dict(doc.get("live", {}))
    live.update({k: v for k, v in (overrides or {}).items() if v is not None})
    subscribe = dict(live.pop("subscribe", {}))
    known = {k.split(".", 1)[1] for k in SETTINGS if k.count(".") == 1}
    unknown = sorted(set(live) - known) + [
        f"subscribe.{k}" for k in sorted(set(subscribe) - set(SUBSCRIBE_KEYS))
    ]
    if unknown:
        raise ConfigError(f"{source}: [live]: unknown setting(s) {', '.join(unknown)}")
    try:
        client = ClientSettings(
            subscribe=subscribe, **{k: _typed(k, v) for k, v in live.items() if k in _CLIENT_KEYS}
        )
        rest = {k: v for k, v in live.items() if k not in _CLIENT_KEYS}
        for key in ("watch_prefixes", "entity_types"):
            if key in rest:
                rest[key] = tuple(str(x) for x in rest[key])
        out = LiveSettings(client=client, **{k: _typed(k, v) for k, v in rest.items()})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: [live]: {exc}") from exc
    if not 60 <= out.bin_seconds <= 86400:
        raise ConfigError(f"{source}: live.bin_seconds = {out.bin_seconds}; expected 60 … 86400")
    return out


def _typed(key: str, value: Any) -> Any:
    default = SETTINGS[f"live.{key}"][0]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{key} = {value!r}; expected true or false")
        return value
    if isinstance(default, int | float) and not isinstance(value, int | float):
        raise ValueError(f"{key} = {value!r}; expected a number")
    return type(default)(value) if isinstance(default, int | float | str) else value
