"""The seal's payload and keys: Base45 (RFC 9285), the CBOR record, COSE_Sign1, key files."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import cbor2
import pytest
from click.testing import CliRunner

from docgen.cli import cli
from docgen.errors import PayloadError, SealKeyError
from docgen.seal.keys import load_public_keys, load_signing_key, new_key, unb64url
from docgen.seal.payload import (
    PREFIX,
    Record,
    b45decode,
    b45encode,
    open_seal,
    payload_of,
    qr_text,
    seal_text,
)
from docgen.seal.qr import BORDER, make_qr

# RFC 9285 section 4.3 and 4.4.
RFC_EXAMPLES = [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"),
                (b"ietf!", "QED8WEX0")]


def record(**changes: object) -> Record:
    values = dict(kid=bytes(range(8)), document_id=bytes(range(8, 16)),
                  document="attestato_frequenza", issuer="Formazione Valdelsa",
                  issued=dt.date(2026, 6, 15),
                  fields=("Dell'Anna", "Maria Grazia", "DLLMGR70T58G999W"), digest=bytes(8))
    values.update(changes)
    return Record(**values)  # type: ignore[arg-type]


@pytest.fixture
def key(tmp_path: Path):  # type: ignore[no-untyped-def]
    private, _ = new_key("ente-2026", tmp_path / "keys", issuer="Ente di prova")
    return load_signing_key(private)


@pytest.mark.parametrize(("data", "text"), RFC_EXAMPLES)
def test_base45_matches_the_rfc_examples(data: bytes, text: str) -> None:
    """Base45 encodes and decodes the examples of RFC 9285 exactly."""
    assert b45encode(data) == text
    assert b45decode(text) == data


def test_base45_round_trips_every_byte_and_refuses_bad_text() -> None:
    """Every byte value and odd lengths survive; a stray character or value is refused."""
    data = bytes(range(256)) + b"\x00"
    assert b45decode(b45encode(data)) == data
    for bad in ("GGW", "ab", "A"):  # 65536 is over 2 bytes; lower case; one stray character
        with pytest.raises(PayloadError):
            b45decode(bad)


def test_record_is_canonical_cbor_and_round_trips() -> None:
    """The record is a canonical CBOR array: format 1, key id, id, name, issuer, date (tag 100),
    the fields as printed, the digest; decoding gives the same record."""
    encoded = record().encode()
    items = cbor2.loads(encoded)
    assert items[0] == 1 and items[3] == "attestato_frequenza"
    assert items[5] == dt.date(2026, 6, 15)
    items[5] = cbor2.CBORTag(100, (items[5] - dt.date(1970, 1, 1)).days)
    assert cbor2.dumps(items, canonical=True) == encoded  # nothing but the canonical form
    assert Record.decode(encoded) == record()


def test_seal_opens_and_verifies_with_its_key(key) -> None:  # type: ignore[no-untyped-def]
    """A payload is DG1: + Base45 of a tagged COSE_Sign1 whose EdDSA signature verifies."""
    text = seal_text(record(kid=key.kid), key.sign)
    assert text.startswith(PREFIX)
    opened = open_seal(text)
    assert opened.record.fields == ("Dell'Anna", "Maria Grazia", "DLLMGR70T58G999W")
    key.public.verify(opened.signature, opened.signed)  # raises if it does not verify
    assert seal_text(record(kid=key.kid), key.sign) == text  # Ed25519 is deterministic


def test_a_payload_cut_short_is_damaged_at_every_length(key) -> None:  # type: ignore[no-untyped-def]
    """Any prefix of a payload is refused as damaged, never taken for a seal."""
    text = seal_text(record(kid=key.kid), key.sign)
    for end in range(len(PREFIX), len(text)):
        with pytest.raises(PayloadError):
            open_seal(text[:end])


def test_a_changed_field_breaks_the_signature(key) -> None:  # type: ignore[no-untyped-def]
    """A record re-encoded with another name keeps the old signature, which then fails."""
    from cryptography.exceptions import InvalidSignature

    opened = open_seal(seal_text(record(kid=key.kid), key.sign))
    forged = open_seal(seal_text(record(kid=key.kid, fields=("Rossi", "Mario", "X")),
                                 lambda _: opened.signature))
    with pytest.raises(InvalidSignature):
        key.public.verify(forged.signature, forged.signed)


def test_the_example_fields_fit_qr_version_12_at_level_q(key) -> None:  # type: ignore[no-untyped-def]
    """The longest name of the example (Dell'Anna Maria Grazia) gives a level-Q code of
    version 12 at most; with a URL in front the page opens from the code."""
    text = seal_text(record(kid=key.kid), key.sign)
    code = make_qr(text, None)
    assert code.error == "Q" and code.version <= 12
    assert code.modules == 17 + 4 * code.version + 2 * BORDER  # the quiet zone included
    with_url = make_qr(text, "https://verifica.example.org/")
    assert with_url.error == "Q"
    content = "".join(part for part, _ in qr_text(text, "https://verifica.example.org/"))
    assert " " not in content  # Base45's space and % are percent-encoded in the address
    assert payload_of(content) == text


def test_keys_new_writes_a_private_key_0600_and_a_public_json(tmp_path: Path) -> None:
    """NAME.key is PKCS#8 PEM readable only by its owner; NAME.pub.json names the key id,
    issuer, date and the public key, and loads as a known key."""
    private, public = new_key("ente-2026", tmp_path, issuer="Ente", today=dt.date(2026, 1, 2))
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    info = json.loads(public.read_text())
    assert info["issuer"] == "Ente" and info["created"] == "2026-01-02"
    assert len(unb64url(info["public_key"])) == 32
    signing = load_signing_key(private)
    assert list(load_public_keys(tmp_path)) == [signing.kid]


def test_keys_new_refuses_to_overwrite_and_output_folders(tmp_path: Path) -> None:
    """An existing key is never overwritten; a folder in an output folder (a manifest, a
    lock or a journal above it) is refused."""
    new_key("ente", tmp_path)
    before = (tmp_path / "ente.key").read_bytes()
    with pytest.raises(SealKeyError, match="already exists"):
        new_key("ente", tmp_path)
    assert (tmp_path / "ente.key").read_bytes() == before
    from docgen.build import LOCK
    from docgen.manifest import MANIFEST
    from docgen.resume import JOURNAL

    for marker in (MANIFEST, LOCK, JOURNAL, ".docgen-journal.csv"):  # the last: older builds
        out = tmp_path / marker.strip(".").replace(".", "_")
        out.mkdir()
        (out / marker).write_text("")
        with pytest.raises(SealKeyError, match="inside the output folder"):
            new_key("ente", out / "deep" / "keys")
        assert not (out / "deep").exists()


def test_cli_keys_new_and_its_refusal(tmp_path: Path) -> None:
    """docgen keys new prints the two files; a second run exits 2 with the reason."""
    runner = CliRunner()
    result = runner.invoke(cli, ["keys", "new", "ente-2026", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ente-2026.pub.json" in result.stdout
    again = runner.invoke(cli, ["keys", "new", "ente-2026", "--dir", str(tmp_path)])
    assert again.exit_code == 2
    assert "already exists" in again.stderr
