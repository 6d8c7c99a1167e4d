"""Limits per document (``[job.limits]``): wall-clock time, memory of a worker, pixels of an
image; pages are counted by the PDF renderer, and the templates' own excesses (huge ranges,
``'x' * 10**10``, endless output) by the sandbox in templating."""

from __future__ import annotations

import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from docgen.errors import LimitError

_MB = 1024 * 1024
_AGAIN = 0.25  # seconds between the time limit's repeated signals


class TimeLimitExceeded(BaseException):
    """Raised into a render by the timer; a BaseException so that no ``except Exception`` on
    the way (Jinja's, WeasyPrint's image loading) can swallow it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def time_error(seconds: float) -> LimitError:
    return LimitError(f"stopped after {seconds:g} s", "seconds")


def memory_error(memory_mb: int) -> LimitError:
    return LimitError(f"ran out of the memory one worker may use ({memory_mb} MB)", "memory_mb",
                      hint="simplify the template or its images, or raise the limit")


def pixels_error(detail: str, pixels: int) -> LimitError:
    return LimitError(f"an image is too large to decode ({detail}; at most {pixels:,} pixels "
                      "an image)", "image_pixels",
                      hint="scale the image down, or raise the limit")


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the code inside after ``seconds`` (a timer signal, so only in the main thread
    of a process; elsewhere the main process's watchdog is the limit).

    The signal repeats every ``_AGAIN`` seconds until the code inside has stopped: Python runs
    a signal's handler wherever the main thread happens to be, and where that is a garbage
    collector callback (hypothesis installs one) or a C library's callback, the exception is
    printed and dropped there."""
    if (not seconds or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return
    armed = True

    def expired(signum: int, frame: object) -> None:
        if armed:
            raise TimeLimitExceeded(seconds)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, _AGAIN)
    try:
        yield
    finally:
        armed = False  # first: no bytecode before it lets a handler run
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def limit_memory(memory_mb: int) -> None:
    """Cap this process's data (heap and anonymous mappings: RLIMIT_DATA, what a runaway
    render grows), so it gets a MemoryError instead of the machine swapping."""
    try:
        import resource
    except ImportError:  # Windows
        return
    limit = memory_mb * _MB
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def limit_image_pixels(pixels: int) -> None:
    """Pillow's decompression-bomb guard at ``pixels``, its warning made an error (Pillow only
    warns between the limit and twice it)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def is_pixel_error(message: str) -> bool:
    """A message from Pillow's decompression-bomb guard."""
    return "decompression bomb" in message or "DecompressionBomb" in message


def default_workers(cores: int, memory_mb: int) -> int:
    """Worker processes for this machine: one per core, but no more than the available memory
    holds at ``memory_mb`` each (at least one)."""
    available = _available_mb()
    if available is None:
        return max(1, cores)
    return max(1, min(cores, available // max(1, memory_mb)))


def _available_mb() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
