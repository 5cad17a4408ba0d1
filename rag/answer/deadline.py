"""One deadline per question, and a circuit breaker per LLM endpoint.

A :class:`Deadline` is a point on the monotonic clock. The LLM answerer takes one per question
(``RAG_LLM_TIMEOUT`` seconds from when the question arrived) and every step of the call —
waiting for a free slot, connecting, retrying, honouring Retry-After, reading the stream —
spends from it; when it is used up the extractive answer is shown.

A server marks when a request arrived with :func:`question_arrived` (a context variable, so it
follows the request into worker threads); time spent queueing for a thread then counts too.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

_ARRIVED: ContextVar[float | None] = ContextVar("rag_question_arrived", default=None)


@dataclass(frozen=True)
class Deadline:
    """The monotonic time (``time.monotonic()``, also asyncio's loop clock) by which a question must be answered."""

    at: float
    seconds: float  # the budget it was made with (for messages)

    @classmethod
    def after(cls, seconds: float, start: float | None = None) -> Deadline:
        """``seconds`` from ``start`` (default: now)."""
        seconds = max(float(seconds), 0.0)
        return cls((time.monotonic() if start is None else start) + seconds, seconds)

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(self.at - time.monotonic(), 0.0)

    @property
    def expired(self) -> bool:
        """True once the deadline has passed."""
        return time.monotonic() >= self.at


@contextlib.contextmanager
def question_arrived(at: float | None = None) -> Iterator[float]:
    """Within the block (and the worker threads it starts), questions count their deadline from ``at`` (default now)."""
    t = time.monotonic() if at is None else at
    token = _ARRIVED.set(t)
    try:
        yield t
    finally:
        _ARRIVED.reset(token)


def question_deadline(seconds: float) -> Deadline:
    """The deadline of the current question: ``seconds`` after it arrived (see :func:`question_arrived`), else from now."""
    return Deadline.after(seconds, _ARRIVED.get())


class CircuitBreaker:
    """Stops calling an endpoint after ``failures`` consecutive failures; tries one call again after ``cooldown`` s.

    Closed (calls pass) → open after ``failures`` failures in a row (calls refused for ``cooldown``
    seconds) → half-open (one trial call; others still refused) → closed on its success, open again
    on its failure with the cooldown doubled (at most 8 × ``cooldown``). Thread-safe.
    """

    def __init__(self, failures: int = 5, cooldown: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.threshold = max(int(failures), 1)
        self.base_cooldown = max(float(cooldown), 0.0)
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until: float | None = None
        self._cooldown = self.base_cooldown
        self._trial = False

    @property
    def state(self) -> str:
        """"closed", "open" or "half-open"."""
        with self._lock:
            if self._open_until is None:
                return "closed"
            return "open" if self.clock() < self._open_until or self._trial else "half-open"

    def before_call(self) -> float | None:
        """None when a call may go ahead, else the seconds until the endpoint is tried again."""
        with self._lock:
            if self._open_until is None:
                return None
            now = self.clock()
            if now < self._open_until:
                return self._open_until - now
            if self._trial:  # another caller is making the trial call
                return max(self._cooldown, 1.0)
            self._trial = True
            return None

    def success(self) -> None:
        """A call worked: close the circuit."""
        with self._lock:
            self._failures, self._open_until, self._trial, self._cooldown = 0, None, False, self.base_cooldown

    def abandon(self) -> None:
        """A call ended without a verdict (the caller went away): let the next caller make the trial call."""
        with self._lock:
            self._trial = False

    def failure(self) -> None:
        """A call failed: count it, and open the circuit at the threshold (or when the trial call failed)."""
        with self._lock:
            self._failures += 1
            if self._trial:
                self._cooldown = min(self._cooldown * 2, self.base_cooldown * 8)
            if self._trial or self._failures >= self.threshold:
                self._open_until = self.clock() + self._cooldown
            self._trial = False
