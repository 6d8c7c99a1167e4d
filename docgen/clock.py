"""The build's clock: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else today.

Every date docgen stamps (``today`` in templates, PDF dates, zip timestamps) comes from here.
"""

from __future__ import annotations

import datetime as dt
import os

EPOCH = "SOURCE_DATE_EPOCH"


def epoch_setting() -> str | None:
    """``SOURCE_DATE_EPOCH`` as set in this process (passed on to the processes that render)."""
    return os.environ.get(EPOCH)


def set_epoch(value: str | None) -> None:
    """Take a build's ``SOURCE_DATE_EPOCH`` (None: unset) in a process that renders for it (a
    pool worker forked from a server started earlier, a cluster worker)."""
    if value is None:
        os.environ.pop(EPOCH, None)
    else:
        os.environ[EPOCH] = value


def source_epoch() -> dt.datetime | None:
    """``SOURCE_DATE_EPOCH`` as an aware UTC time, or None when it is not set to a number."""
    value = os.environ.get(EPOCH, "").strip()
    return dt.datetime.fromtimestamp(int(value), dt.UTC) if value.isdigit() else None


def build_date() -> dt.date:
    """``today`` for templates."""
    epoch = source_epoch()
    return epoch.date() if epoch else dt.date.today()


def build_moment(fixed: str | None = None) -> dt.datetime:
    """The creation time stamped in documents: ``SOURCE_DATE_EPOCH``, else ``fixed`` (ISO date
    or date-time), else today at midnight UTC, so re-runs on one day give the same bytes."""
    epoch = source_epoch()
    if epoch:
        return epoch
    if fixed:
        when = dt.datetime.fromisoformat(str(fixed))
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(dt.date.today(), dt.time(), dt.UTC)
