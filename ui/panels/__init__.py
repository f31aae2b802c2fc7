"""The panels of the main window's bottom area, each following a `RunController`."""

from ui.panels.console import Console
from ui.panels.event_log import EventLog
from ui.panels.timeline_plot import TimelinePlot

__all__ = ["Console", "EventLog", "TimelinePlot"]
