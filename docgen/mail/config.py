"""The job file's [mail] table: sender, templates, size limit and SMTP server, every mistake named."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path
from typing import Any, Literal

from jinja2 import TemplateSyntaxError

from docgen.errors import DocgenError, JobError, TemplateError, UnusableError, suggest
from docgen.job import Job, check_keys
from docgen.sources import unknown_names
from docgen.templating import make_environment

Security = Literal["starttls", "ssl", "none"]

MAIL_KEYS = {"from", "reply_to", "bcc", "to", "subject", "body", "html_body", "max_attachment_mb",
             "office_subject", "office_body", "smtp"}
SMTP_KEYS = {"host", "port", "security", "timeout"}
SECURITIES: tuple[Security, ...] = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
USER_ENV, PASSWORD_ENV = "DOCGEN_SMTP_USER", "DOCGEN_SMTP_PASSWORD"
DEFAULT_MAX_MB = 10
# A single-line value with one of these endings names a template file; anything else is inline text.
TEMPLATE_SUFFIXES = (".txt", ".text", ".html", ".htm", ".j2", ".jinja", ".md", ".tpl")
DEFAULT_OFFICE_SUBJECT = "{{ job.id }}: {{ documents | length }} documents"
DEFAULT_OFFICE_BODY = "Attached: the {{ documents | length }} documents of {{ job.id }}, in one zip file.\n"
# The message to an office in the job's language (by the locale's language; English otherwise).
OFFICE_TEXTS = {
    "it": ("{{ job.id }}: {{ documents | length }} documenti",
           "In allegato i {{ documents | length }} documenti di {{ job.id }}, in un unico file "
           "zip.\n"),
}


def office_texts(locale: str) -> tuple[str, str]:
    """The default subject and body of ``mail --to-office`` for a locale."""
    return OFFICE_TEXTS.get(locale.split("_")[0].lower(),
                            (DEFAULT_OFFICE_SUBJECT, DEFAULT_OFFICE_BODY))
# ASCII addresses only: non-ASCII ones need SMTPUTF8, which few relays offer. The domain needs a dot,
# so that "mario@gmail" is caught as the typo it is.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$")


@dataclass(frozen=True)
class Smtp:
    """``[mail.smtp]``: where to send; the login comes from the environment only."""

    host: str
    port: int
    security: Security = "starttls"
    timeout: float = 60.0

    @property
    def place(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class MailConfig:
    """A validated ``[mail]`` table; templates are Jinja sources, already parsed once."""

    sender: str
    sender_address: str
    subject: str
    body: str
    to_field: str = "email"
    reply_to: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    html_body: str | None = None
    max_attachment_bytes: int = DEFAULT_MAX_MB * 1024 * 1024
    office_subject: str = DEFAULT_OFFICE_SUBJECT
    office_body: str = DEFAULT_OFFICE_BODY
    smtp: Smtp | None = None

    @property
    def domain(self) -> str:
        """The From address's domain: the right-hand side of every Message-ID."""
        return self.sender_address.rpartition("@")[2].lower()


def is_address(text: str) -> bool:
    """A plain ``local@domain`` address (no display name)."""
    return bool(_ADDRESS.match(text))


def split_addresses(value: Any) -> list[str]:
    """A roster cell to addresses: one, or several separated by ``;`` ``,`` or spaces."""
    if value is None:
        return []
    return [part for part in re.split(r"[;,\s]+", str(value)) if part]


def load_mail_config(job: Job) -> MailConfig:
    """Validate ``job.mail``; raises UnusableError naming every problem."""
    path, table = job.path, job.mail
    if not table:
        raise UnusableError([JobError("no [mail] table", file=path.name,
                                      hint="add [mail] with from, subject and body; see the README")])
    problems: list[DocgenError] = []
    check_keys(path, table, MAIL_KEYS, "[mail]", problems)

    def addresses(name: str, *, single: bool = False) -> list[tuple[str, str]]:
        value = table.get(name, [])
        values = [value] if isinstance(value, str) else value
        if not (isinstance(values, list) and all(isinstance(v, str) for v in values)):
            problems.append(JobError(f"[mail] {name} must be an address or a list of addresses",
                                     file=path.name))
            return []
        pairs = getaddresses(values)
        bad = [v for v, (_, a) in zip(values, pairs, strict=False) if not is_address(a)]
        if bad or len(pairs) != len(values):
            shown = ", ".join(map(repr, bad or values))
            problems.append(JobError(f"[mail] {name}: not an e-mail address: {shown}", file=path.name,
                                     hint='write e.g. "Formazione <formazione@example.org>"'))
            return []
        if single and len(pairs) != 1:
            problems.append(JobError(f"[mail] {name} must be one address", file=path.name))
            return []
        return pairs

    sender = addresses("from", single=True)
    if "from" not in table:
        problems.append(JobError("[mail] from is missing", file=path.name,
                                 hint='e.g. from = "Formazione <formazione@example.org>"'))
    reply_to = [a for _, a in addresses("reply_to")]
    bcc = [a for _, a in addresses("bcc")]
    to_field = table.get("to", "email")
    if not (isinstance(to_field, str) and to_field.strip()):
        problems.append(JobError("[mail] to must name the roster field with the address",
                                 file=path.name, hint='e.g. to = "email"'))
        to_field = "email"
    templates = {name: _template(job, name, table.get(name), problems) for name in TEXT_KEYS}
    examples = {"subject": 'inline text, e.g. subject = "{{ course.title }}: i suoi documenti"',
                "body": "inline text, or a template file such as mail/body.txt"}
    for name in ("subject", "body"):
        if name not in table:
            problems.append(JobError(f"[mail] {name} is missing", file=path.name,
                                     hint=f"{examples[name]}."))
    max_mb = table.get("max_attachment_mb", DEFAULT_MAX_MB)
    if isinstance(max_mb, bool) or not isinstance(max_mb, int | float) or max_mb <= 0:
        problems.append(JobError(f"[mail] max_attachment_mb must be a positive number, not {max_mb!r}",
                                 file=path.name))
        max_mb = DEFAULT_MAX_MB
    smtp = _smtp(path, table.get("smtp"), problems)
    if problems:
        raise UnusableError(problems)
    office_subject, office_body = office_texts(job.locale)
    return MailConfig(
        sender=str(table["from"]).strip(), sender_address=sender[0][1],
        subject=templates["subject"] or "", body=templates["body"] or "",
        to_field=to_field.strip(), reply_to=tuple(reply_to), bcc=tuple(bcc),
        html_body=templates["html_body"], max_attachment_bytes=int(max_mb * 1024 * 1024),
        office_subject=templates["office_subject"] or office_subject,
        office_body=templates["office_body"] or office_body, smtp=smtp,
    )


TEXT_KEYS = ("subject", "body", "html_body", "office_subject", "office_body")


def mail_texts(job: Job) -> dict[str, str]:
    """The [mail] texts that load (inline or from their files), whatever else is wrong with
    the table: so ``check`` can look at their fields too."""
    ignored: list[DocgenError] = []
    texts = {name: _template(job, name, job.mail.get(name), ignored) for name in TEXT_KEYS}
    return {name: text for name, text in texts.items() if text}


def _template(job: Job, name: str, value: Any, problems: list[DocgenError]) -> str | None:
    """The Jinja source of a [mail] template: inline text, or a file beside the job file."""
    if value is None:
        return None
    if not (isinstance(value, str) and value.strip()):
        problems.append(JobError(f"[mail] {name} must be a non-empty text", file=job.path.name))
        return None
    where, source = job.path.name, value
    if "\n" not in value and value.strip().lower().endswith(TEMPLATE_SUFFIXES):
        file = job.folder / value.strip()
        try:
            source, where = file.read_text(encoding="utf-8-sig"), file.name
        except FileNotFoundError:
            problems.append(JobError(f"[mail] {name}: template not found: {file}", file=job.path.name))
            return None
        except (OSError, UnicodeDecodeError) as err:
            problems.append(JobError(f"[mail] {name}: cannot read {file}: {err}", file=job.path.name))
            return None
    env = make_environment(job.locale, autoescape=name == "html_body")
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as err:
        problems.append(TemplateError(f"[mail] {name}: template syntax error: {err.message} "
                                      f"(line {err.lineno})", file=where,
                                      hint="every {{ needs }} and every {% if %} its {% endif %}."))
        return None
    unknown = [TemplateError(f"[mail] {name}: unknown {kind} '{found}' (line {line})",
                             file=where, hint=hint)
               for kind, found, line, hint in unknown_names(tree, env)]
    problems += unknown
    return None if unknown else source


def _smtp(path: Path, table: Any, problems: list[DocgenError]) -> Smtp | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        problems.append(JobError("[mail.smtp] must be a table", file=path.name))
        return None
    secrets = [k for k in table if k.lower() in ("user", "username", "login", "password", "pass")]
    for key in secrets:
        problems.append(JobError(f"[mail.smtp] {key}: the login never goes in the job file",
                                 file=path.name,
                                 hint=f"remove it and set {USER_ENV} and {PASSWORD_ENV} in the environment"))
    check_keys(path, {k: v for k, v in table.items() if k not in secrets}, SMTP_KEYS,
               "[mail.smtp]", problems)
    host = table.get("host")
    if not (isinstance(host, str) and host.strip()):
        problems.append(JobError("[mail.smtp] host is missing", file=path.name,
                                 hint='e.g. host = "smtp.example.org"'))
        host = ""
    security = table.get("security", "starttls")
    if security not in SECURITIES:
        problems.append(JobError(f"[mail.smtp] security must be one of {', '.join(SECURITIES)}, "
                                 f"not {security!r}", file=path.name,
                                 hint=suggest(str(security), SECURITIES)))
        security = "starttls"
    port = table.get("port", DEFAULT_PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        problems.append(JobError(f"[mail.smtp] port must be a number from 1 to 65535, not {port!r}",
                                 file=path.name))
        port = 0
    timeout = table.get("timeout", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        problems.append(JobError(f"[mail.smtp] timeout must be a positive number of seconds, "
                                 f"not {timeout!r}", file=path.name))
        timeout = 60
    return Smtp(host=host.strip(), port=port, security=security, timeout=float(timeout))


def smtp_credentials(smtp: Smtp, environ: Mapping[str, str] | None = None) -> Credentials | None:
    """User and password from ``DOCGEN_SMTP_USER``/``DOCGEN_SMTP_PASSWORD``; never from a file."""
    environ = os.environ if environ is None else environ
    user, password = environ.get(USER_ENV, ""), environ.get(PASSWORD_ENV, "")
    if not user and not password:
        return None
    if not user or not password:
        missing = USER_ENV if not user else PASSWORD_ENV
        raise UnusableError([JobError(f"{missing} is not set, but {USER_ENV if user else PASSWORD_ENV} is",
                                      hint="set both, or neither for a server without login")])
    if smtp.security == "none" and not _loopback(smtp.host):
        raise UnusableError([JobError(
            f"security = \"none\" would send the password unencrypted to {smtp.host}",
            hint='use security = "starttls" or "ssl"; "none" with a login is for a local relay only')])
    return Credentials(user, password)


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
