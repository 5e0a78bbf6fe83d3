"""The alert configuration: one TOML file, every setting listed with its default and meaning.

``SETTINGS`` is the single list of keys (docs/alerts.md documents each, a test checks it).
Secrets may be given inline or, better, as the name of an environment variable
(``secret_env``, ``password_env``), read when the file is loaded.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

SEVERITIES: Final = ("low", "medium", "high", "critical")
CHANNEL_TYPES: Final = ("webhook", "slack", "email", "jsonl")

SETTINGS: Final[dict[str, tuple[Any, str]]] = {
    "alerts.base_url": (
        "http://127.0.0.1:8000",
        "dashboard root; alerts link to {base_url}/events/{event_id}",
    ),
    "alerts.min_severity": ("medium", "lowest severity that alerts: low, medium, high or critical"),
    "alerts.kinds": ([], "event kinds that alert (empty: all)"),
    "alerts.quiet_hours": ("", "UTC window HH:MM-HH:MM in which only quiet_min_severity and above alert"),
    "alerts.quiet_min_severity": ("critical", "lowest severity that alerts during quiet hours"),
    "alerts.retries": (3, "delivery attempts per alert and channel after the first"),
    "alerts.backoff_seconds": (2.0, "first retry delay; doubles per attempt"),
    "alerts.timeout_seconds": (10.0, "per-attempt timeout of one delivery"),
    "alerts.watchlist.countries": ([], "ISO country codes whose events alert (all three lists empty: all)"),
    "alerts.watchlist.asns": ([], "AS numbers whose events alert"),
    "alerts.watchlist.prefixes": ([], "prefixes whose events (and those of prefixes inside them) alert"),
    "channels.type": ("", "webhook, slack, email or jsonl"),
    "channels.name": ("", "name in the alert_deliveries table (default: the type)"),
    "channels.min_severity": ("", "overrides alerts.min_severity for this channel"),
    "channels.url": ("", "webhook/slack: the URL to POST to"),
    "channels.secret": ("", "webhook: HMAC-SHA256 key for the X-Outagewatch-Signature header"),
    "channels.secret_env": ("", "webhook: environment variable holding the secret"),
    "channels.host": ("localhost", "email: SMTP server"),
    "channels.port": (587, "email: SMTP port"),
    "channels.starttls": (True, "email: upgrade the connection with STARTTLS (required unless false)"),
    "channels.cafile": ("", "email: CA bundle to verify the server (default: system store)"),
    "channels.username": ("", "email: SMTP login (none: no login)"),
    "channels.password": ("", "email: SMTP password"),
    "channels.password_env": ("", "email: environment variable holding the password"),
    "channels.sender": ("outagewatch@localhost", "email: From address"),
    "channels.to": ([], "email: recipient addresses"),
    "channels.path": ("-", "jsonl: file to append JSON lines to; - is standard output"),
}


class ConfigError(Exception):
    """The configuration file is unreadable or has a bad value (the message names the key)."""


@dataclass(frozen=True)
class ChannelConfig:
    type: str
    name: str
    options: Mapping[str, Any]
    min_severity: str | None = None

    def get(self, key: str) -> Any:
        return self.options.get(key, SETTINGS[f"channels.{key}"][0])


@dataclass(frozen=True)
class AlertConfig:
    base_url: str = SETTINGS["alerts.base_url"][0]
    min_severity: str = SETTINGS["alerts.min_severity"][0]
    kinds: tuple[str, ...] = ()
    quiet_hours: tuple[int, int] | None = None  # minutes of the day, [start, end)
    quiet_min_severity: str = "critical"
    retries: int = 3
    backoff_seconds: float = 2.0
    timeout_seconds: float = 10.0
    countries: frozenset[str] = frozenset()
    asns: frozenset[str] = frozenset()
    prefixes: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    channels: tuple[ChannelConfig, ...] = field(default_factory=tuple)


def load(
    path: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> tuple[AlertConfig, dict[str, Any]]:
    """Read the TOML file; returns the alert config and the raw document (``[live]`` is read by
    :mod:`outagewatch.live.settings`)."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{p}: {exc}") from exc
    return parse(doc, env if env is not None else os.environ, source=str(p)), doc


def parse(doc: Mapping[str, Any], env: Mapping[str, str], source: str = "config") -> AlertConfig:
    alerts = dict(doc.get("alerts", {}))
    _check_keys(source, "alerts", alerts, {k.split(".", 1)[1] for k in SETTINGS if k.startswith("alerts.")})
    watch = dict(alerts.pop("watchlist", {}))
    _check_keys(source, "alerts.watchlist", watch, {"countries", "asns", "prefixes"})
    channels = tuple(_channel(source, i, c, env) for i, c in enumerate(alerts.pop("channels", [])))
    try:
        return AlertConfig(
            base_url=str(alerts.get("base_url", SETTINGS["alerts.base_url"][0])).rstrip("/"),
            min_severity=_severity(source, "alerts.min_severity", alerts.get("min_severity", "medium")),
            kinds=tuple(str(k) for k in alerts.get("kinds", ())),
            quiet_hours=_quiet(source, str(alerts.get("quiet_hours", ""))),
            quiet_min_severity=_severity(
                source, "alerts.quiet_min_severity", alerts.get("quiet_min_severity", "critical")
            ),
            retries=int(alerts.get("retries", 3)),
            backoff_seconds=float(alerts.get("backoff_seconds", 2.0)),
            timeout_seconds=float(alerts.get("timeout_seconds", 10.0)),
            countries=frozenset(str(c).upper() for c in watch.get("countries", ())),
            asns=frozenset(str(a).removeprefix("AS") for a in watch.get("asns", ())),
            prefixes=tuple(ipaddress.ip_network(str(p), strict=False) for p in watch.get("prefixes", ())),
            channels=channels,
        )
    except ValueError as exc:
        raise ConfigError(f"{source}: [alerts]: {exc}") from exc


def _check_keys(source: str, table: str, got: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(got) - known - {"watchlist", "channels"})
    if unknown:
        raise ConfigError(f"{source}: [{table}]: unknown setting(s) {', '.join(unknown)}")


def _severity(source: str, key: str, value: Any) -> str:
    if value not in SEVERITIES:
        raise ConfigError(f"{source}: {key} = {value!r}; expected one of {', '.join(SEVERITIES)}")
    return str(value)


def _quiet(source: str, text: str) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        start, end = (int(h) * 60 + int(m) for h, m in (part.split(":") for part in text.split("-")))
    except ValueError as exc:
        raise ConfigError(f"{source}: alerts.quiet_hours = {text!r}; expected HH:MM-HH:MM") from exc
    return start, end


def _channel(source: str, index: int, raw: Mapping[str, Any], env: Mapping[str, str]) -> ChannelConfig:
    where = f"{source}: [[alerts.channels]] #{index + 1}"
    kind = raw.get("type")
    if kind not in CHANNEL_TYPES:
        raise ConfigError(f"{where}: type = {kind!r}; expected one of {', '.join(CHANNEL_TYPES)}")
    _check_keys(where, "channel", raw, {k.split(".", 1)[1] for k in SETTINGS if k.startswith("channels.")})
    opts = dict(raw)
    for key in ("secret", "password"):
        var = opts.get(f"{key}_env")
        if var:
            if var not in env:
                raise ConfigError(f"{where}: {key}_env names {var!r}, which is not set")
            opts[key] = env[var]
    if kind in ("webhook", "slack") and not opts.get("url"):
        raise ConfigError(f"{where}: {kind} channel needs url")
    if kind == "email" and not opts.get("to"):
        raise ConfigError(f"{where}: email channel needs to = [addresses]")
    min_sev = opts.get("min_severity")
    return ChannelConfig(
        type=str(kind),
        name=str(opts.get("name") or kind),
        options=opts,
        min_severity=_severity(where, "min_severity", min_sev) if min_sev else None,
    )
