"""The mail log: CSV lines appended and synced to disk before going on.

Sending is logged twice, for exactly-once delivery: ``sending`` with the Message-ID before the
DATA command, then ``sent`` once the server has accepted the message (or ``refused`` when it
answered that it did not take it). A ``sending`` line with neither after it is a message that
may have reached the server: it is never sent again without ``--resend``."""

from __future__ import annotations

import csv
import io
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from docgen.files import OutputFolder
from docgen.manifest import safe_cell, unsafe_cell

MAIL_FOLDER = "mail"
LOG = "log.csv"
# ``status`` comes last: a line cut short by a killed run has no valid status and is ignored.
COLUMNS = ("time", "key", "label", "message_id", "recipients", "files", "sha256", "status")
STATUSES = ("sending", "sent", "refused", "draft")


@dataclass(frozen=True)
class LogEntry:
    """One message: ``key`` is empty for a message to an office."""

    time: str
    key: str
    message_id: str
    recipients: tuple[str, ...]
    files: tuple[str, ...]
    sha256: tuple[str, ...]
    status: str
    label: str = ""  # the worker as a clerk names them ([job] label); logs before it have none

    def as_record(self) -> dict[str, str]:
        return {"time": self.time, "key": self.key, "label": self.label,
                "message_id": self.message_id,
                "recipients": "; ".join(self.recipients), "files": "; ".join(self.files),
                "sha256": " ".join(self.sha256), "status": self.status}


def log_path(folder: Path) -> Path:
    return folder / MAIL_FOLDER / LOG




def _split(value: str, separator: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(separator) if part.strip())


def read_log(folder: Path) -> list[LogEntry]:
    """Every complete line of the log; none if there is no log yet."""
    if not folder.is_dir():
        return []
    with OutputFolder(folder).open_text(f"{MAIL_FOLDER}/{LOG}", "utf-8-sig") as handle:
        if handle is None:
            return []
        records = list(csv.DictReader(handle))
    entries = []
    for record in records:
        if record.get("status") not in STATUSES or None in record.values():
            continue
        values = {k: unsafe_cell(record.get(k) or "") for k in COLUMNS}
        entries.append(LogEntry(
            time=values["time"], key=values["key"], message_id=values["message_id"],
            recipients=_split(values["recipients"], ";"), files=_split(values["files"], ";"),
            sha256=_split(values["sha256"], " "), status=values["status"],
            label=values["label"]))
    return entries


def append_log(folder: Path, entry: LogEntry) -> None:
    """Add one line and fsync it, so that a run killed after this message never sends it again."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    with OutputFolder(folder).append(f"{MAIL_FOLDER}/{LOG}") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            buffer.write("\ufeff")  # so that Excel shows accented names right
            writer.writeheader()
        else:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":  # a line cut short by a killed run: start afresh
                buffer.write("\r\n")
        writer.writerow({k: safe_cell(v) for k, v in entry.as_record().items()})
        handle.write(buffer.getvalue().encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def mail_lock(folder: Path) -> AbstractContextManager[None]:
    """One ``docgen mail`` at a time per output folder: two at once could send twice."""
    return OutputFolder(folder).lock(f"{MAIL_FOLDER}/.lock", "docgen mail")
