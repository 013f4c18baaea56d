"""`ChangeFeed`: the services say when what the scoreboard shows has changed; the page's stream listens.

A service calls `changed()` once it has committed a start, a verification, an end, an extension, a hint, a
grade, a paste, a tick or a freeze. Listeners are plain callbacks, called at once and cheaply (the scoreboard's
stream sets an event and reads the store once for however many changes came meanwhile); the feed itself keeps
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class ChangeFeed:
    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` on every change; the function returned stops that."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a listener's fault is not the change's: the write is committed
                log.exception("a scoreboard change listener failed")
