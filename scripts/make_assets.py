"""Generate the static assets of the example templates (images and fonts).

Run from the repository root:

    .venv/bin/python scripts/make_assets.py            # images only (templates/img/)
    .venv/bin/python scripts/make_assets.py --fonts    # also fonts (needs `npm` + registry access)

Images (templates/img/), all drawn here, no third-party artwork:
  * ue_emblem.svg / ue_emblem.png  - EU emblem: blue field, 12 gold five-pointed stars in a circle
                                     (PNG is opaque RGB, no alpha: safe for python-docx / Word)
  * mark_ministero.*, mark_regione.*, mark_ente.*  - simple invented marks used beside the
    text-logos of the Ministry, the Region and the (fictional) training body. They are NOT the
    real logos (those are not redistributable); the names are set as text in the templates.

Fonts (templates/fonts/): Titillium Web (SIL OFL 1.1) from the npm package
@fontsource/titillium-web; for each style the "latin" and "latin-ext" WOFF subsets are
merged and saved as plain TrueType (no brotli/woff2 decoder needed at run time).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "templates" / "img"
FONTS = ROOT / "templates" / "fonts"

EU_BLUE = "#003399"
EU_GOLD = "#FFCC00"
RT_RED = "#C8102E"
ENTE_GREEN = "#0B6E4F"
MIN_BLUE = "#17324D"


def star_points(cx: float, cy: float, r_out: float, r_in_ratio: float = 0.382) -> list[tuple[float, float]]:
    """Five-pointed star, one point straight up."""
    pts = []
    for k in range(10):
        r = r_out if k % 2 == 0 else r_out * r_in_ratio
        a = -math.pi / 2 + k * math.pi / 5
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return pts


def eu_stars(w: float, h: float) -> list[list[tuple[float, float]]]:
    """Official geometry: circle radius = h/3, star radius = h/18, stars at the clock hours."""
    cx, cy = w / 2, h / 2
    return [
        star_points(cx + h / 3 * math.cos(math.radians(-90 + 30 * i)),
                    cy + h / 3 * math.sin(math.radians(-90 + 30 * i)), h / 18)
        for i in range(12)
    ]


def _poly(pts) -> str:
    return " ".join(f"{x:.2f},{y:.2f}" for x, y in pts)


# ---------------------------------------------------------------- SVG
def svg_eu() -> str:
    w, h = 150, 100
    stars = "\n".join(f'  <polygon points="{_poly(s)}"/>' for s in eu_stars(w, h))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}">\n'
            f'  <title>Emblema dell\'Unione europea</title>\n'
            f'  <rect width="{w}" height="{h}" fill="{EU_BLUE}"/>\n'
            f'  <g fill="{EU_GOLD}">\n{stars}\n  </g>\n</svg>\n')


def svg_ministero() -> str:
    # stylised tricolour ribbon in a navy roundel (invented mark)
    return f'''<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="100" height="100">
  <title>Ministero del Lavoro e delle Politiche Sociali (marchio semplificato)</title>
  <circle cx="50" cy="50" r="48" fill="{MIN_BLUE}"/>
  <circle cx="50" cy="50" r="40" fill="none" stroke="#ffffff" stroke-width="2"/>
  <rect x="29" y="28" width="14" height="44" fill="#009246"/>
  <rect x="43" y="28" width="14" height="44" fill="#ffffff"/>
  <rect x="57" y="28" width="14" height="44" fill="#CE2B37"/>
</svg>
'''


def svg_regione() -> str:
    # red shield with three white hills (invented mark, not the regional Pegasus)
    return f'''<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="100" height="100">
  <title>Regione Toscana (marchio semplificato)</title>
  <path d="M14 8 H86 V52 C86 74 68 88 50 96 C32 88 14 74 14 52 Z" fill="{RT_RED}"/>
  <path d="M20 62 C30 48 40 48 50 58 C60 44 72 44 80 56 L80 64 C72 54 62 54 50 66 C40 56 30 56 20 70 Z" fill="#ffffff"/>
  <circle cx="66" cy="30" r="9" fill="#ffffff"/>
</svg>
'''


def svg_ente() -> str:
    # green rounded square with an open book (invented training body)
    return f'''<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="100" height="100">
  <title>Formazione Valdelsa (marchio di fantasia)</title>
  <rect x="2" y="2" width="96" height="96" rx="18" fill="{ENTE_GREEN}"/>
  <path d="M18 30 C30 26 42 28 49 34 V76 C42 70 30 68 18 72 Z" fill="#ffffff"/>
  <path d="M82 30 C70 26 58 28 51 34 V76 C58 70 70 68 82 72 Z" fill="#ffffff" opacity="0.85"/>
</svg>
'''


# ---------------------------------------------------------------- PNG
def _png(path: Path, size: tuple[int, int], draw_fn) -> None:
    from PIL import Image, ImageDraw

    scale = 4  # supersample for smooth edges, then downscale
    img = Image.new("RGB", (size[0] * scale, size[1] * scale), "white")
    draw_fn(ImageDraw.Draw(img), scale)
    img = img.resize(size, Image.LANCZOS).convert("RGB")  # opaque RGB, no alpha channel
    img.save(path, optimize=True)


def png_eu(path: Path) -> None:
    w, h = 300, 200

    def draw(d, s):
        d.rectangle([0, 0, w * s, h * s], fill=EU_BLUE)
        for pts in eu_stars(w * s, h * s):
            d.polygon(pts, fill=EU_GOLD)

    _png(path, (w, h), draw)


def png_ministero(path: Path) -> None:
    def draw(d, s):
        d.ellipse([2 * s, 2 * s, 198 * s, 198 * s], fill=MIN_BLUE)
        d.ellipse([20 * s, 20 * s, 180 * s, 180 * s], outline="white", width=4 * s)
        for x0, col in ((58, "#009246"), (86, "#ffffff"), (114, "#CE2B37")):
            d.rectangle([x0 * s, 56 * s, (x0 + 28) * s, 144 * s], fill=col)

    _png(path, (200, 200), draw)


def png_regione(path: Path) -> None:
    def draw(d, s):
        shield = [(28, 16), (172, 16), (172, 104)]
        shield += [(100 + 72 * math.cos(a), 104 + 88 * math.sin(a))
                   for a in [i * math.pi / 24 for i in range(0, 25)]]
        shield += [(28, 104)]
        d.polygon([(x * s, y * s) for x, y in shield], fill=RT_RED)
        hills = [(40, 124), (60, 100), (80, 100), (100, 116), (120, 92), (144, 92), (160, 112),
                 (160, 128), (144, 110), (122, 110), (100, 132), (80, 114), (60, 116), (40, 140)]
        d.polygon([(x * s, y * s) for x, y in hills], fill="white")
        d.ellipse([114 * s, 42 * s, 150 * s, 78 * s], fill="white")

    _png(path, (200, 200), draw)


def png_ente(path: Path) -> None:
    def draw(d, s):
        d.rounded_rectangle([4 * s, 4 * s, 196 * s, 196 * s], radius=36 * s, fill=ENTE_GREEN)
        d.polygon([(x * s, y * s) for x, y in [(36, 60), (60, 52), (84, 56), (98, 68), (98, 152),
                                                (84, 140), (60, 136), (36, 144)]], fill="white")
        d.polygon([(x * s, y * s) for x, y in [(164, 60), (140, 52), (116, 56), (102, 68), (102, 152),
                                                (116, 140), (140, 136), (164, 144)]], fill="#d9ebe4")

    _png(path, (200, 200), draw)


def make_images() -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    for name, svg in (("ue_emblem", svg_eu()), ("mark_ministero", svg_ministero()),
                      ("mark_regione", svg_regione()), ("mark_ente", svg_ente())):
        (IMG / f"{name}.svg").write_text(svg, encoding="utf-8")
    png_eu(IMG / "ue_emblem.png")
    png_ministero(IMG / "mark_ministero.png")
    png_regione(IMG / "mark_regione.png")
    png_ente(IMG / "mark_ente.png")
    print(f"images written to {IMG}")


# ---------------------------------------------------------------- fonts
STYLES = {  # fontsource style -> output file
    "400-normal": "TitilliumWeb-Regular.ttf",
    "400-italic": "TitilliumWeb-Italic.ttf",
    "600-normal": "TitilliumWeb-SemiBold.ttf",
    "700-normal": "TitilliumWeb-Bold.ttf",
}


def make_fonts() -> None:
    from fontTools.merge import Merger
    from fontTools.ttLib import TTFont

    FONTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "@fontsource/titillium-web@5"], cwd=tmp, check=True,
                       capture_output=True)
        tgz = next(Path(tmp).glob("*.tgz"))
        subprocess.run(["tar", "xzf", tgz.name], cwd=tmp, check=True)
        pkg = Path(tmp) / "package"
        for style, out in STYLES.items():
            parts = []
            for subset in ("latin", "latin-ext"):
                f = TTFont(pkg / "files" / f"titillium-web-{subset}-{style}.woff")
                f.flavor = None
                p = Path(tmp) / f"{subset}-{style}.ttf"
                f.save(p)
                parts.append(str(p))
            merged = Merger().merge(parts)
            merged.save(FONTS / out)
        licence = (pkg / "LICENSE").read_text(encoding="utf-8")
        (FONTS / "OFL.txt").write_text(
            "Titillium Web - (c) 2009-2011 Accademia di Belle Arti di Urbino and students of MA course\n"
            "of Visual design. Files converted from the npm package @fontsource/titillium-web\n"
            "(latin + latin-ext subsets merged, WOFF -> TrueType) by scripts/make_assets.py.\n"
            "Licensed under the SIL Open Font License, Version 1.1 (below).\n\n" + licence,
            encoding="utf-8")
    print(f"fonts written to {FONTS}")


def main() -> None:
    ap = argparse.ArgumentParser(description="Generate template images (and fonts).")
    ap.add_argument("--fonts", action="store_true", help="also rebuild templates/fonts via npm")
    args = ap.parse_args()
    make_images()
    if args.fonts:
        make_fonts()


if __name__ == "__main__":
    main()
