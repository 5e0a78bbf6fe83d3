"""Alerts: channels (webhook, Slack, SMTP, JSON lines), filters, delivery with retries and records.

See docs/alerts.md for the configuration file and every setting.
"""

from outagewatch.alerts.config import SETTINGS, AlertConfig, ChannelConfig, ConfigError, load, parse
from outagewatch.alerts.dispatch import Attempt, Dispatcher
from outagewatch.alerts.message import Alert, build, event_state

__all__ = [
    "SETTINGS",
    "Alert",
    "AlertConfig",
    "Attempt",
    "ChannelConfig",
    "ConfigError",
    "Dispatcher",
    "build",
    "event_state",
    "load",
    "parse",
]
