"""Plain-language reports (pure): events + names → text, Markdown or JSON."""

from outagewatch.report.render import FORMATS, event_json, render
from outagewatch.report.story import Query, Story, stories

__all__ = ["FORMATS", "Query", "Story", "event_json", "render", "stories"]
