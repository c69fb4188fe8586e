"""A brake on one client's failed sign-ins, whatever usernames it tries: the lockout protects
one account, this stops a client from trying many. Each sign-in is counted before its password
is checked and forgiven once it succeeds, so guesses sent at once are held back like guesses
sent one after another. Kept in memory, per process."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi import Request

from accrue.store.people import LoginRefused

FAILURES = 10  # failed sign-ins a client may make ...
WINDOW = 60.0  # ... within this many seconds


class TooManyAttempts(LoginRefused):
    """A client that failed to sign in too often lately; `wait` says for how many seconds."""

    def __init__(self, wait: int):
        self.wait = wait
        super().__init__(f"too many failed sign-ins from this address: wait {wait} seconds")


class Throttle:
    """At most `failures` failed sign-ins per client address in any `window` seconds."""

    def __init__(
        self,
        failures: int = FAILURES,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.failures, self.window, self.clock = failures, window, clock
        self._recent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def attempt(self, client: str) -> float:
        """Count a sign-in from `client` as failed until `forgive` says otherwise, or refuse it
        while the client has failed too often lately; when it was counted."""
        with self._lock:
            recent = self._forget_old(client)
            if len(recent) >= self.failures:
                raise TooManyAttempts(math.ceil(recent[0] + self.window - self.clock()))
            counted = self.clock()
            recent.append(counted)
            return counted

    def forgive(self, client: str, counted: float) -> None:
        """The sign-in counted at `counted` succeeded: it does not count against the client."""
        with self._lock:
            recent = self._recent.get(client, ())
            if counted in recent:
                recent.remove(counted)

    def _forget_old(self, client: str) -> deque[float]:
        since = self.clock() - self.window
        for other in [c for c, times in self._recent.items() if not times or times[-1] <= since]:
            del self._recent[other]  # clients come and go: keep only those failing lately
        recent = self._recent.setdefault(client, deque())
        while recent and recent[0] <= since:
            recent.popleft()
        return recent


@contextmanager
def throttled(request: Request) -> Iterator[None]:
    """A sign-in from the request's client: refused while it is throttled, and counted
    against it unless it succeeds."""
    throttle: Throttle = request.app.state.sign_ins
    client = request.client.host if request.client else "unknown"
    counted = throttle.attempt(client)
    yield
    throttle.forgive(client, counted)
