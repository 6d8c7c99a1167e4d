"""The life of docgen's processes: SIGINT and SIGTERM stop a command cleanly, and every
process docgen starts (workers, their server, LibreOffice) ends when docgen's main process
does, even when it is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from docgen.errors import signal_exit_code

# Set when a stop signal arrived: loops in threads (LibreOffice's) check it and stop.
STOPPING = threading.Event()
_PR_SET_PDEATHSIG = 1


class Interrupted(BaseException):
    """The command was stopped by SIGINT or SIGTERM; ``written`` documents were finished."""

    def __init__(self, signum: int, written: int = 0) -> None:
        super().__init__(signum)
        self.signum = signum
        self.written = written

    @property
    def exit_code(self) -> int:
        return signal_exit_code(self.signum)  # 130 for SIGINT, 143 for SIGTERM

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted in the main thread (once: a second signal while
    stopping is ignored, so clean-up finishes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        if STOPPING.is_set():
            return
        STOPPING.set()
        raise Interrupted(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        STOPPING.clear()


# The pid of the process a pool's server must die with, in the server's environment: the
# server is started before it can ask for a parent-death signal, and the parent may be gone
# by then (killed a few milliseconds after starting it), which it can only tell by the pid.
MAIN_PID = "DOCGEN_MAIN_PID"
SERVER_PID = "DOCGEN_POOL_SERVER_PID"  # the same for the workers the server forks


def name_main_process() -> None:
    """Before starting a pool's server: this process is the one the server dies with."""
    os.environ[MAIN_PID] = str(os.getpid())


def name_pool_server() -> None:
    """In a pool's server: the workers it forks die with it."""
    os.environ[SERVER_PID] = str(os.getpid())


def main_process() -> int | None:
    """In a pool's server: the pid of the process it must die with (None if not named)."""
    return _pid(MAIN_PID)


def pool_server() -> int | None:
    """In a worker forked by a pool's server: that server's pid (None if not named)."""
    return _pid(SERVER_PID)


def _pid(variable: str) -> int | None:
    value = os.environ.get(variable, "")
    return int(value) if value.isdigit() else None


def die_with_parent(expected_parent: int | None = None) -> None:
    """Ask Linux to kill this process when its parent dies (prctl PR_SET_PDEATHSIG); exit at
    once if the parent is already gone. Elsewhere a no-op: the pipes to the parent close."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(1)


def ignore_interrupts() -> None:
    """In a child: Ctrl-C reaches the whole process group, but only the main process decides
    how to stop (it stops its children itself)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# The watcher: a tiny process that outlives nothing. It reads process-group ids on its stdin
# and kills the groups still listed when the pipe closes, which happens when docgen's main
# process ends in any way (SIGKILL included). LibreOffice runs in a session of its own (so
# a timeout can kill soffice and soffice.bin together), out of reach of a parent-death signal.
_WATCHER = r"""
import os, signal, sys
groups = set()
for line in sys.stdin:
    sign, _, number = line.strip().partition(" ")
    (groups.add if sign == "+" else groups.discard)(int(number))
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""


class _Watcher:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[str] | None = None

    def send(self, line: str) -> None:
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.process = subprocess.Popen(
                    [sys.executable, "-S", "-c", _WATCHER], stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                    start_new_session=True)  # Ctrl-C must not stop it before it did its job
            assert self.process.stdin is not None
            with suppress(OSError):
                self.process.stdin.write(line + "\n")
                self.process.stdin.flush()


_watcher = _Watcher()


def watch_group(group: int) -> None:
    """Kill process group ``group`` if docgen's main process ends before ``unwatch_group``."""
    if sys.platform != "win32":
        _watcher.send(f"+ {group}")


def unwatch_group(group: int) -> None:
    if sys.platform != "win32":
        _watcher.send(f"- {group}")
