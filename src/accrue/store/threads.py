"""The server's background threads (outbox delivery, jobs): each does a pass when woken or
every `interval` seconds, and a pass that fails is logged and tried again at the next one —
what it works on stays in the books."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def repeating(
    name: str, waiting: threading.Event, interval: float, one_pass: Callable[[], object]
) -> Iterator[None]:
    """`one_pass()` on a thread of its own while the context lasts: when `waiting` is set,
    or every `interval` seconds; stopped and joined when the context ends."""
    stopping = threading.Event()

    def run() -> None:
        while not stopping.is_set():
            waiting.clear()
            try:
                one_pass()
            except Exception:
                log.exception("%s: a pass failed", name)
            waiting.wait(interval)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        waiting.set()
        thread.join()
