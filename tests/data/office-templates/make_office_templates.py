"""Converts the Writer sources in tests/data/office-templates/ (.fodt, flat ODF text) to the
.docx files committed beside them, with real LibreOffice, as a clerk's Writer saves them.

Run from the repository root: .venv/bin/python tests/data/office-templates/make_office_templates.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise SystemExit("LibreOffice is needed: apt-get install libreoffice-writer-nogui")
    with tempfile.TemporaryDirectory() as profile:
        for source in sorted(HERE.glob("*.fodt")):
            subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                            "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(HERE),
                            str(source)], check=True, timeout=120, capture_output=True)
            print(f"{source.name} -> {source.with_suffix('.docx').name}")


if __name__ == "__main__":
    main()
