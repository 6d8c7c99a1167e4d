"""SMTP delivery: one connection for the batch, a reconnect when it drops before a message
was handed over, and each message logged ``sending`` before DATA and ``sent`` after the
server's answer, so none is ever sent twice."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from pathlib import Path

from docgen.errors import MailServerError, describe
from docgen.mail.compose import WIRE_POLICY, Composer, entry
from docgen.mail.config import PASSWORD_ENV, USER_ENV, Credentials, MailConfig, Smtp
from docgen.mail.interrupt import Aborted, Stop
from docgen.mail.log import append_log
from docgen.mail.plan import Delivery, MailItem, OnDelivery, Pending, uncertain_message

Log = Callable[[str], None]  # logs the message in flight with a status: sending, refused


class _Uncertain(Exception):
    """The line dropped after the message was handed over and before the server answered."""


def _answer(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(text.split())}"


def connect(smtp: Smtp, credentials: Credentials | None) -> smtplib.SMTP:
    """An open, secured and logged-in connection, or MailServerError saying what to check."""
    context = ssl.create_default_context()
    try:
        if smtp.security == "ssl":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout,
                                                        context=context)
        else:
            connection = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        try:
            if smtp.security == "starttls":
                connection.starttls(context=context)
            if credentials:
                connection.login(credentials.user, credentials.password)
        except BaseException:
            connection.close()
            raise
    except smtplib.SMTPAuthenticationError as err:
        raise MailServerError(f"{smtp.place} refused the login: {_answer(err.smtp_code, err.smtp_error)}",
                              hint=f"check {USER_ENV} and {PASSWORD_ENV}") from err
    except smtplib.SMTPNotSupportedError as err:
        raise MailServerError(f"{smtp.place}: {err}", hint="check [mail.smtp] security and port, "
                              f"or unset {USER_ENV} for a relay without login") from err
    except smtplib.SMTPResponseException as err:
        raise MailServerError(f"{smtp.place} answered {_answer(err.smtp_code, err.smtp_error)}") from err
    except ssl.SSLError as err:
        raise MailServerError(f"TLS with {smtp.place} failed: {err.reason or err}",
                              hint="check [mail.smtp] security (starttls or ssl) and port") from err
    except (smtplib.SMTPException, OSError) as err:
        reason = getattr(err, "strerror", None) or describe(err)
        raise MailServerError(f"cannot connect to {smtp.place}: {reason}",
                              hint="check [mail.smtp] host, port and security") from err
    return connection


class Sender:
    """Sends message after message; when the connection drops, reconnects once and retries."""

    def __init__(self, config: MailConfig, credentials: Credentials | None) -> None:
        assert config.smtp is not None
        self.config, self.smtp, self.credentials = config, config.smtp, credentials
        self.connection: smtplib.SMTP | None = connect(self.smtp, credentials)
        self.stopped = ""  # why sending stopped: the rest are reported unsent

    def close(self, *, polite: bool = True) -> None:
        """Say QUIT and close; ``polite`` False just closes (a transaction was abandoned)."""
        if self.connection is not None:
            if polite:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    self.connection.quit()
            self.connection.close()
            self.connection = None

    def envelope(self, item: Pending) -> list[str]:
        return [*item.to, *[a for a in self.config.bcc if a not in item.to]]

    def send(self, item: Pending, message: EmailMessage, log: Log) -> tuple[Delivery, list[str]]:
        """The delivery and the recipients the server accepted. ``log`` records ``sending``
        just before DATA: a drop after that is never retried (the server may have the
        message), only one before it."""
        envelope = self.envelope(item)
        data = message.as_bytes(policy=WIRE_POLICY)
        for attempt in (1, 2):
            try:
                if self.connection is None:
                    self.connection = connect(self.smtp, self.credentials)
                refused = transaction(self.connection, self.config.sender_address, envelope,
                                      item.to, data, log)
            except _Uncertain as err:
                self.close(polite=False)
                return item.delivery("uncertain", uncertain_message(item.key, item.message_id,
                                                                    str(err))), []
            except smtplib.SMTPRecipientsRefused as err:
                return item.delivery("failed", "the server refused " + _refusals(err.recipients)), []
            except smtplib.SMTPResponseException as err:
                return item.delivery("failed", "the server answered "
                                     + _answer(err.smtp_code, err.smtp_error)), []
            except smtplib.SMTPServerDisconnected as err:
                lost = str(err) or "disconnected"
            except smtplib.SMTPException as err:
                return item.delivery("failed", describe(err)), []
            except MailServerError as err:
                self.stopped = f"reconnecting failed: {err}"
                return item.delivery("failed", f"not sent: {self.stopped}"), []
            except OSError as err:  # reset, broken pipe, timeout: the line is gone
                lost = describe(err)
            else:
                accepted = [a for a in envelope if a not in refused]
                note = f"; the server refused {_refusals(refused)}" if refused else ""
                return item.delivery("sent", item.why + note), accepted
            self.close()
            if attempt == 2:
                self.stopped = f"the connection to {self.smtp.place} dropped twice ({lost})"
        return item.delivery("failed", f"not sent: {self.stopped}"), []


def transaction(connection: smtplib.SMTP, sender: str, envelope: Sequence[str], to: Sequence[str],
                data: bytes, log: Log) -> dict[str, tuple[int, bytes]]:
    """``sendmail``, except that when a worker's own address is refused nothing is sent at all
    (not even the Bcc copy), so the archive holds exactly what the workers got; and the
    message is logged ``sending`` before DATA, ``refused`` when the server says it did not
    take it."""
    connection.ehlo_or_helo_if_needed()
    options = [f"SIZE={len(data)}"] if connection.has_extn("size") else []
    code, text = _check(connection, connection.mail(sender, options))
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, text, sender)
    refused: dict[str, tuple[int, bytes]] = {}
    for address in envelope:
        code, text = _check(connection, connection.rcpt(address))
        if code not in (250, 251):
            refused[address] = (code, text)
    if len(refused) == len(envelope) or any(a in refused for a in to):
        _reset(connection)
        raise smtplib.SMTPRecipientsRefused(refused)
    log("sending")
    try:
        code, text = connection.data(data)
    except smtplib.SMTPDataError:  # DATA itself was refused: the message never went
        log("refused")
        _reset(connection)
        raise
    except (smtplib.SMTPServerDisconnected, OSError) as err:
        raise _Uncertain(describe(err)) from err
    if code != 250:  # an answer, but not "accepted": the server does not have it
        log("refused")
        _check(connection, (code, text))
        _reset(connection)
        raise smtplib.SMTPDataError(code, text)
    return refused


def _check(connection: smtplib.SMTP, reply: tuple[int, bytes]) -> tuple[int, bytes]:
    """421 means the server is closing the line: treat it as the drop it is."""
    if reply[0] == 421:
        connection.close()
        raise smtplib.SMTPServerDisconnected(_answer(*reply))
    return reply


def _reset(connection: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        connection.rset()


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{address} ({_answer(code, text)})" for address, (code, text) in recipients.items())


def send_all(items: Sequence[MailItem], composer: Composer, config: MailConfig,
             credentials: Credentials | None, out: Path, emit: OnDelivery, stop: Stop) -> None:
    """Send every pending message, each logged ``sending`` before DATA and ``sent`` when the
    server took it. After a stop signal the message in flight is finished and the rest are
    reported unsent; a second signal abandons the one in flight (it stays ``sending``)."""
    if not any(isinstance(i, Pending) for i in items):
        for item in items:
            emit(item)  # type: ignore[arg-type]
        return
    sender = Sender(config, credentials)  # unreachable server: raises before anything is sent
    polite = True
    try:
        for item in items:
            if isinstance(item, Delivery):
                emit(item)
                continue
            if stop.signum or sender.stopped:
                why = f"interrupted ({stop.name})" if stop.signum else sender.stopped
                emit(item.delivery("failed", f"not sent: {why}; run again to send the rest"))
                continue
            try:
                message = composer.message(item, draft=False)
            except Exception as err:  # this message fails; the others go on
                emit(item.delivery("failed", f"cannot make the message: {describe(err)}"))
                continue
            logged: list[str] = []

            def log(status: str, item: Pending = item, logged: list[str] = logged) -> None:
                append_log(out, entry(item, status, sender.envelope(item)))
                logged.append(status)

            try:
                delivery, accepted = sender.send(item, message, log)
            except Aborted as err:  # a second signal: the transaction is abandoned
                stop.signum = stop.signum or err.signum
                polite = False
                sender.close(polite=False)
                if logged and logged[-1] == "sending":
                    delivery = item.delivery("uncertain", uncertain_message(
                        item.key, item.message_id, f"interrupted ({stop.name}) during DATA"))
                else:
                    delivery = item.delivery("failed", f"not sent: interrupted ({stop.name})")
                emit(delivery)
                continue
            except Exception as err:  # unforeseen: this message fails, the next one reconnects
                sender.close()
                delivery, accepted = item.delivery("failed", describe(err)), []
                if logged and logged[-1] == "sending":  # maybe handed over: never silently again
                    delivery = item.delivery("uncertain", uncertain_message(
                        item.key, item.message_id, describe(err)))
            if accepted:
                append_log(out, entry(item, "sent", accepted))
            emit(delivery)
    finally:
        sender.close(polite=polite)
