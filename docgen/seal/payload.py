"""The seal's payload: a canonical CBOR record, signed as COSE_Sign1 (EdDSA), as Base45 text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

import cbor2

from docgen.errors import PayloadError

PREFIX = "DG1:"
FORMAT = 1
COSE_SIGN1_TAG = 18
EDDSA = -8  # COSE algorithm identifier (RFC 9053)
_PROTECTED = cbor2.dumps({1: EDDSA}, canonical=True)
_EPOCH = dt.date(1970, 1, 1)
_DAYS_TAG = 100  # RFC 8943: a date as days since 1970-01-01
BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_VALUES = {c: n for n, c in enumerate(BASE45)}
# Characters a URL fragment keeps as they are; Base45's space and % are percent-encoded,
# which stays inside the QR code's alphanumeric character set.
_FRAGMENT_SAFE = "$*+-./:"



def b45encode(data: bytes) -> str:
    """Base45 (RFC 9285): each 2 bytes as 3 characters, a last odd byte as 2."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        out += [BASE45[n % 45], BASE45[n // 45 % 45], BASE45[n // 2025]]
    if len(data) % 2:
        out += [BASE45[data[-1] % 45], BASE45[data[-1] // 45]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    """The inverse of :func:`b45encode`; refuses characters and values outside RFC 9285."""
    try:
        values = [_BASE45_VALUES[c] for c in text]
    except KeyError as err:
        raise PayloadError(f"not Base45: the character {err.args[0]!r}") from None
    if len(values) % 3 == 1:
        raise PayloadError("not Base45: cut short (a stray last character)")
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i:i + 3]
        n = sum(v * 45 ** k for k, v in enumerate(chunk))
        if (len(chunk) == 3 and n > 0xFFFF) or (len(chunk) == 2 and n > 0xFF):
            raise PayloadError("not Base45: a value out of range")
        out += n.to_bytes(len(chunk) - 1, "big")
    return bytes(out)


@dataclass(frozen=True)
class Record:
    """What a seal asserts. Field values are the texts as the document prints them, in the
    order of ``[job.seal] fields``."""

    kid: bytes  # the signing key's id (8 bytes)
    document_id: bytes  # 8 bytes, stable across rebuilds
    document: str  # the document's name in the job
    issuer: str
    issued: dt.date
    fields: tuple[str, ...]
    digest: bytes  # the first 8 bytes of the document's manifest ``inputs`` digest
    version: int = FORMAT

    def encode(self) -> bytes:
        """Canonical CBOR (RFC 8949 §4.2): an array, so the order is fixed and no keys are spent."""
        days = cbor2.CBORTag(_DAYS_TAG, (self.issued - _EPOCH).days)
        return cbor2.dumps([self.version, self.kid, self.document_id, self.document, self.issuer,
                            days, list(self.fields), self.digest], canonical=True)

    @classmethod
    def decode(cls, data: bytes) -> Record:
        try:
            items = cbor2.loads(data)
        except Exception as err:  # cbor2 raises several kinds for damaged input
            raise PayloadError(f"the sealed record is damaged ({type(err).__name__})") from err
        if not (isinstance(items, list | tuple) and len(items) == 8 and items[0] == FORMAT):
            raise PayloadError("the sealed record is not of format 1")
        version, kid, document_id, document, issuer, issued, fields, digest = items
        if isinstance(issued, cbor2.CBORTag) and issued.tag == _DAYS_TAG:  # cbor2 < 5.5
            issued = _EPOCH + dt.timedelta(days=issued.value)
        if not (isinstance(kid, bytes) and isinstance(document_id, bytes)
                and isinstance(document, str) and isinstance(issuer, str)
                and isinstance(issued, dt.date) and isinstance(fields, list | tuple)
                and all(isinstance(f, str) for f in fields) and isinstance(digest, bytes)):
            raise PayloadError("the sealed record has a member of the wrong type")
        return cls(kid=kid, document_id=document_id, document=document, issuer=issuer,
                   issued=issued, fields=tuple(fields), digest=digest, version=version)

    @property
    def code(self) -> str:
        """The document id as printed and as ``docgen revoke`` takes it: 1A2B-3C4D-5E6F-7A8B."""
        return format_code(self.document_id)


def format_code(document_id: bytes) -> str:
    text = document_id.hex().upper()
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def parse_code(text: str) -> bytes:
    """A document code as a clerk may type it (dashes, spaces, lower case) as its bytes."""
    cleaned = text.replace("-", "").replace(" ", "").strip()
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise PayloadError(f"{text!r} is not a document code such as 1A2B-3C4D-5E6F-7A8B") from None


def _sig_structure(payload: bytes) -> bytes:
    """What COSE_Sign1 signs (RFC 9052 §4.4): context, protected header, no external data, payload."""
    return cbor2.dumps(["Signature1", _PROTECTED, b"", payload], canonical=True)


def seal_text(record: Record, sign: Callable[[bytes], bytes]) -> str:
    """The payload text: ``DG1:`` + Base45 of the tagged COSE_Sign1 over the record."""
    payload = record.encode()
    cose = cbor2.CBORTag(COSE_SIGN1_TAG, [_PROTECTED, {}, payload, sign(_sig_structure(payload))])
    return PREFIX + b45encode(cbor2.dumps(cose, canonical=True))


@dataclass(frozen=True)
class Opened:
    """A payload taken apart, not yet verified: the record, and what its signature covers."""

    record: Record
    signed: bytes
    signature: bytes


def open_seal(text: str) -> Opened:
    """Parse a payload text (or a URL whose fragment holds one); raises PayloadError."""
    text = payload_of(text)
    if not text.startswith(PREFIX):
        raise PayloadError(f"not a docgen seal (no {PREFIX} prefix)")
    data = b45decode(text[len(PREFIX):])
    try:
        cose = cbor2.loads(data)
    except Exception as err:
        raise PayloadError(f"the seal is damaged or cut short ({type(err).__name__})") from err
    if not (isinstance(cose, cbor2.CBORTag) and cose.tag == COSE_SIGN1_TAG
            and isinstance(cose.value, list | tuple) and len(cose.value) == 4):
        raise PayloadError("the seal is not a COSE_Sign1 structure")
    protected, _unprotected, payload, signature = cose.value
    if protected != _PROTECTED:
        raise PayloadError("the seal is not signed with EdDSA")
    if not (isinstance(payload, bytes) and isinstance(signature, bytes)):
        raise PayloadError("the seal is damaged")
    return Opened(Record.decode(payload), _sig_structure(payload), signature)


def payload_of(text: str) -> str:
    """``DG1:...`` out of what a QR code holds: the payload, or URL + ``#`` + the payload."""
    text = text.strip()
    if "#" in text and not text.startswith(PREFIX):
        return unquote(text.split("#", 1)[1])
    return text


def qr_text(payload: str, url: str | None) -> Sequence[tuple[str, str]]:
    """The QR code's content as segments: the URL in byte mode, the payload in alphanumeric
    mode (Base45 uses exactly that character set, so it costs 5.5 bits a character)."""
    if not url:
        return [(payload, "alphanumeric")]
    return [(url + "#", "byte"), (quote(payload, safe=_FRAGMENT_SAFE), "alphanumeric")]
