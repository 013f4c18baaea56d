"""The cluster context of an alert and its kubectl-like text, fitted into a size.

The text is plain (no code fence: the caller adds it), never exceeds the size it was given, and never
contains a fence that would close the caller's. When it does not fit, the oldest Events go first, then
the last Pods, each gap said in a line ("… 3 older events not shown").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.i18n import Message, render
from bot.incidents.kubectl import EventFacts, PodFacts, age, last_seen, restarts
from bot.kinds import BY_NAME
from bot.limits import text_size, truncate

#: A table line is cut (its last column, the message, with "…") to this many characters.
LINE_MAX = 160

_FENCE = re.compile(r"`{3,}")
_SPACES = re.compile(r"[\s\x00-\x1f\x7f]+")
_GAP = "  "


@dataclass(frozen=True)
class ClusterContext:
    """What the cluster says about an alert's objects.

    `events` holds the newest `max_events`, newest first; `text` prints them oldest first, as
    `kubectl events` does. `not_listed` names each kind that could not be listed and why.
    `unavailable` is set (and nothing else is) when the namespace itself could not be read.
    """

    namespace: str
    subjects: tuple[str, ...]
    pods: tuple[PodFacts, ...]
    pods_left_out: int
    events: tuple[EventFacts, ...]
    events_left_out: int
    not_found: tuple[str, ...]
    not_listed: tuple[tuple[str, Message], ...]
    unavailable: Message | None
    text: str

    def render(self, max_chars: int) -> str:
        """The kubectl-like block in at most `max_chars` (Discord's count): oldest events go first, then pods."""
        if max_chars <= 0:
            return ""
        if self.unavailable is not None:
            return truncate(_clean(f"could not read the cluster: {render(self.unavailable, 'en')}"), max_chars)
        pods, events = list(self.pods), list(self.events)
        pods_out, events_out = self.pods_left_out, self.events_left_out
        while True:
            text = self._compose(pods, pods_out, events, events_out, min(LINE_MAX, max_chars))
            if text_size(text) <= max_chars:
                return text
            if events:
                events.pop()  # newest first: the last is the oldest
                events_out += 1
            elif len(pods) > 1:
                pods.pop()
                pods_out += 1
            else:
                return truncate(text, max_chars)  # a budget too small even for one Pod: cut the end

    def _compose(
        self, pods: Sequence[PodFacts], pods_out: int, events: Sequence[EventFacts], events_out: int, width: int
    ) -> str:
        unlisted = {kind for kind, _ in self.not_listed}
        # Names come from the alert's labels and reasons from the API server: both are cleaned like table cells.
        lines = [_line(f"could not list {BY_NAME[k].plural}: {render(why, 'en')}", width) for k, why in self.not_listed]
        lines += [_line(f"{ref}: not found", width) for ref in self.not_found]
        if "Pod" not in unlisted:
            if pods:
                rows = [[f"pod/{p.name}", f"{p.ready}/{p.total}", p.status, restarts(p), age(p.age)] for p in pods]
                lines += _table(["NAME", "READY", "STATUS", "RESTARTS", "AGE"], rows, width)
            if pods_out:
                lines.append(f"… {pods_out} more pods not shown")
            looked_for = [s for s in self.subjects if s not in self.not_found]
            if not pods and not pods_out and looked_for:
                lines.append(_line(f"No pods found for {', '.join(looked_for)}.", width))
        if "Event" not in unlisted:
            if lines:
                lines.append("")
            if events_out:
                lines.append(f"… {events_out} {'older ' if events else ''}events not shown")
            if events:
                rows = [[last_seen(e), e.type, e.reason, e.object, e.message] for e in reversed(events)]
                lines += _table(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], rows, width)
            elif not events_out:
                lines.append("No events found.")
        return "\n".join(lines).strip("\n")


def _table(header: list[str], rows: list[list[str]], width: int) -> list[str]:
    """Columns padded like kubectl's tabwriter; each line cut to `width` (the last column goes first)."""
    cells = [[_clean(cell) for cell in row] for row in [header, *rows]]
    widths = [max(text_size(row[i]) for row in cells) for i in range(len(header) - 1)]
    lines = []
    for row in cells:
        padded = [cell + " " * (w - text_size(cell)) for cell, w in zip(row, widths, strict=False)]
        lines.append(truncate(_GAP.join([*padded, row[-1]]).rstrip(), width))
    return lines


def _line(text: str, width: int) -> str:
    return truncate(_clean(text), width)


def _clean(text: str) -> str:
    """One line, and no ``` that would close the caller's code block (each backtick becomes a look-alike)."""
    one_line = _SPACES.sub(" ", text)
    return _FENCE.sub(lambda m: "ˋ" * len(m.group()), one_line)
