"""The published verification page in real headless Chromium, served from loopback."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest

from docgen.seal.keys import load_signing_key, new_key
from docgen.seal.payload import Record, qr_text, seal_text
from docgen.seal.publish import publish
from docgen.seal.revoke import revoke
from tests.browser import browser, serve  # noqa: F401 (fixtures)

_VISITS = itertools.count()
# Makes WebCrypto refuse Ed25519, as browsers without it do, so the vendored noble-ed25519
# has to verify instead.
NO_WEBCRYPTO_ED25519 = """
const importKey = crypto.subtle.importKey.bind(crypto.subtle);
crypto.subtle.importKey = (format, data, algorithm, ...rest) =>
  (algorithm && (algorithm.name || algorithm) === "Ed25519")
    ? Promise.reject(new DOMException("Ed25519 unsupported", "NotSupportedError"))
    : importKey(format, data, algorithm, ...rest);
"""


def record(kid: bytes, **changes: Any) -> Record:
    values: dict[str, Any] = dict(kid=kid, document_id=bytes.fromhex("1a2b3c4d5e6f7a8b"),
                                  document="attestato_frequenza", issuer="Formazione Valdelsa",
                                  issued=dt.date(2026, 6, 15),
                                  fields=("Dell'Anna", "Maria Grazia", "DLLMGR70T58G999W"),
                                  digest=bytes(8))
    values.update(changes)
    return Record(**values)


@pytest.fixture
def site(tmp_path: Path, serve: Any) -> tuple[str, Any]:  # noqa: F811 (the fixture)
    """A published page with one key, served on 127.0.0.1; and that key."""
    private, _ = new_key("ente-2026", tmp_path / "keys", issuer="Formazione Valdelsa")
    key = load_signing_key(private)
    publish(tmp_path / "keys", tmp_path / "verifica")
    return serve(tmp_path / "verifica"), key


def open_page(driver: Any, base: str, payload: str) -> tuple[str, str]:
    """Open URL#payload as a phone's camera would (percent-encoded as the QR code holds it);
    return the page's state and visible text once its script has decided."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    content = "".join(part for part, _ in qr_text(payload, f"{base}?visit={next(_VISITS)}"))
    driver.get(content)
    body = driver.find_element(By.TAG_NAME, "body")
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
        in ("valid", "invalid"))
    return body.get_attribute("data-state"), body.text


def test_a_genuine_seal_shows_authentic_with_the_workers_data(browser: Any, site: Any) -> None:  # noqa: F811
    """Documento autentico, with the sealed name, fiscal code, issuer and date of issue."""
    base, key = site
    state, text = open_page(browser, base, seal_text(record(key.kid), key.sign))
    assert state == "valid"
    assert "Documento autentico" in text
    assert "Dell'Anna · Maria Grazia · DLLMGR70T58G999W" in text
    assert "Formazione Valdelsa" in text and "15/06/2026" in text
    assert "1A2B-3C4D-5E6F-7A8B" in text


def test_a_tampered_seal_shows_not_valid_with_the_reason(browser: Any, site: Any) -> None:  # noqa: F811
    """Another name under the original signature: Documento NON valido, firma non valida."""
    base, key = site
    genuine = seal_text(record(key.kid), key.sign)
    from docgen.seal.payload import open_seal

    signature = open_seal(genuine).signature
    forged = seal_text(record(key.kid, fields=("Rossi", "Mario", "RSSMRA80A01H501U")),
                       lambda _: signature)
    state, text = open_page(browser, base, forged)
    assert state == "invalid"
    assert "Documento NON valido" in text and "firma non valida" in text
    assert "Rossi" not in text


def test_cut_unknown_key_and_revoked_seals_are_not_valid(browser: Any, site: Any,  # noqa: F811
                                                         tmp_path: Path) -> None:
    """A payload cut short, one signed with an unknown key, and a revoked document each show
    NON valido with their reason (the signed revoked.json is read beside the page)."""
    base, key = site
    genuine = seal_text(record(key.kid), key.sign)
    state, text = open_page(browser, base, genuine[:-20])
    assert state == "invalid" and "Documento NON valido" in text
    other = load_signing_key(new_key("altro", tmp_path / "other")[0])
    state, text = open_page(browser, base, seal_text(record(other.kid), other.sign))
    assert state == "invalid" and "chiave sconosciuta" in text
    revoke(key, "1A2B-3C4D-5E6F-7A8B", "rilasciato per errore", today=dt.date(2026, 7, 1))
    publish(tmp_path / "keys", tmp_path / "verifica")
    state, text = open_page(browser, base, genuine)
    assert state == "invalid"
    assert "documento revocato il 2026-07-01: rilasciato per errore" in text


def test_without_webcrypto_ed25519_the_vendored_library_verifies(browser: Any,  # noqa: F811
                                                                 site: Any) -> None:
    """Where WebCrypto lacks Ed25519, noble-ed25519 verifies: genuine is still authentic,
    a forgery still not valid."""
    base, key = site
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                      {"source": NO_WEBCRYPTO_ED25519})
    try:
        genuine = seal_text(record(key.kid), key.sign)
        state, text = open_page(browser, base, genuine)
        assert state == "valid" and "Documento autentico" in text
        forged = seal_text(record(key.kid, issuer="Altro ente"),
                           lambda _: bytes(64))
        state, text = open_page(browser, base, forged)
        assert state == "invalid" and "firma non valida" in text
        assert browser.execute_script(
            "return crypto.subtle.importKey('raw', new Uint8Array(32), 'Ed25519', false, "
            "['verify']).then(() => 'native', () => 'refused')") == "refused"
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                                {"identifier": script["identifier"]})
