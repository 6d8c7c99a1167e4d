"""SIGINT and SIGTERM while mailing: the message in flight is finished (the server's answer
awaited and logged), then mailing stops; a second signal aborts the transaction at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Aborted(BaseException):
    """A second stop signal: the SMTP transaction in progress is abandoned."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class Stop:
    """Whether a stop signal arrived, and which (None: none)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            raise Aborted(signum)
        self.signum = signum  # checked between messages: the one in flight goes on

    @contextmanager
    def catching(self) -> Iterator[Stop]:
        """While mailing, SIGINT and SIGTERM set ``signum`` instead of raising (only the
        main thread can set handlers; elsewhere nothing changes)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
