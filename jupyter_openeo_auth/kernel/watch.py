"""What follows the kernel's login widgets: one thread for all of them (each asks the server, once per back-end
and tick, how its login stands: a login made elsewhere shows, an ended one says so), and running something once
the cell's outputs are out."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from ..errors import OpenEOAuthError

#: How often the watcher asks the server.
WATCH_SECONDS = 1.0


def after_this_cell(action: Callable[[], None]) -> None:
    """Run `action` when the running cell's code is done (its outputs are out), before the next cell runs."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        action()
        return

    def once(*_: object) -> None:
        shell.events.unregister("post_run_cell", once)
        action()

    shell.events.register("post_run_cell", once)


class Watch:
    """One thread for all the kernel's widgets: asks the server, once per back-end, how its login stands."""

    def __init__(self) -> None:
        self.widgets: weakref.WeakSet[Any] = weakref.WeakSet()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def add(self, widget: Any) -> None:
        with self.lock:
            self.widgets.add(widget)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, daemon=True, name="openeo-login-watch")
                self.thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            asked: dict[tuple, dict | None] = {}
            for widget in [shown for shown in list(self.widgets) if shown._watched()]:
                where = (id(widget.client), widget.backend, widget.provider_id, widget.client_id)
                try:
                    if where not in asked:
                        asked[where] = widget._session()
                except OpenEOAuthError:  # the server is restarting, say: ask again next time
                    continue
                widget._notice(asked[where])


WATCH = Watch()
