"""Worker processes (workers.py): renderers really preloaded in the forkserver."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("kinds", "expected"), [
    ("pdf", ["docgen.render_pdf", "weasyprint"]),
    ("docx", ["docgen.render_docx", "docgen.fastdocx"]),
])
def test_forkserver_preloads_the_renderers(kinds: str, expected: list[str], tmp_path: Path) -> None:
    """A worker starts with the renderer modules already imported: the forkserver swallows an
    ImportError in its preload list, so a wrong name would silently cost every worker its
    start-up time."""
    code = textwrap.dedent(f"""
        import sys
        from concurrent.futures import ProcessPoolExecutor
        from docgen.workers import _Pool, preload_modules

        def loaded(names):
            return [n for n in names if n in sys.modules]

        if __name__ == "__main__":
            pool = _Pool(None, 1, preload_modules({{{kinds!r}}}))
            with ProcessPoolExecutor(1, mp_context=pool.context) as executor:
                print(",".join(executor.submit(loaded, {expected!r}).result()))
    """)
    # A script file, not -c: the workers import the function they run from it.
    script = tmp_path / "probe.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(",") == expected
