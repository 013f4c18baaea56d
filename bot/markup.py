"""Discord's text markup that every feature writes: timestamps readers see in their own time zone,
and elapsed times as a class counts them."""

from __future__ import annotations

from datetime import datetime, timedelta


def clock(delta: timedelta) -> str:
    """An elapsed time as M:SS (minutes may exceed 59: a class counts in minutes)."""
    seconds = max(int(delta.total_seconds()), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


def stamp(moment: datetime, style: str = "t") -> str:
    """A Discord timestamp: `t` a clock time, `R` relative ("in 5 minutes"), `f` date and time."""
    return f"<t:{int(moment.timestamp())}:{style}>"
