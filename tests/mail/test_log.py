"""The mail log and lock (mail/log.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mail.support import deliver, make_mail_job

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def test_log_is_safe_for_excel_and_survives_a_cut_line(tmp_path: Path) -> None:
    """Formula-like cells are neutralised and read back intact; a line cut by a kill is ignored
    and the next line starts afresh."""
    from docgen.mail.log import LogEntry, append_log, log_path, read_log

    first = LogEntry("2026-03-02T10:00:00+01:00", "=HYPERLINK(1)", "<a@example.org>",
                     ("-x@example.org", "y@example.org"), ("attestato.pdf",), ("ab" * 32,), "sent")
    append_log(tmp_path, first)
    assert "'=HYPERLINK(1)" in log_path(tmp_path).read_text(encoding="utf-8-sig")
    with log_path(tmp_path).open("ab") as handle:
        handle.write(b"2026-03-02T10:01:00+01:00,KEY2,<b@example.org>,z@example.org,a.pdf,cd")
    assert read_log(tmp_path) == [first]
    second = LogEntry("2026-03-02T10:02:00+01:00", "KEY3", "<c@example.org>", ("w@example.org",),
                      ("a.pdf",), ("ef" * 32,), "sent")
    append_log(tmp_path, second)
    assert read_log(tmp_path) == [first, second]


def test_two_runs_at_once_are_refused(tmp_path: Path) -> None:
    """While one docgen mail holds the output folder, another stops before sending anything."""
    from docgen.errors import DocgenError
    from docgen.mail.log import mail_lock

    job, out = make_mail_job(tmp_path)
    with mail_lock(out), pytest.raises(DocgenError, match="another docgen mail is running"):
        deliver(job, out)
    assert [d.status for d in deliver(job, out).deliveries] == ["draft"] * 3


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_PART = st.text(st.characters(exclude_categories=("Cs", "Z", "Cc"), exclude_characters=";"),
                min_size=1, max_size=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=_TEXT, message_id=_TEXT, recipient=_PART, file=_PART)
def test_any_value_reads_back_exactly(tmp_path_factory: pytest.TempPathFactory, key: str,
                                      message_id: str, recipient: str, file: str) -> None:
    """Every key and Message-ID (and every recipient and file name without the list's
    separator) survives the log's formula-neutralising round trip exactly, a leading quote
    included."""
    from docgen.mail.log import LogEntry, append_log, read_log

    folder = tmp_path_factory.mktemp("log")
    entries = [LogEntry("2026-03-02T10:00:00+01:00", value, message_id, (recipient, "'" + recipient),
                        (file,), ("ab" * 32,), "sent") for value in (key, "'" + key)]
    for entry in entries:
        append_log(folder, entry)
    assert read_log(folder) == entries
