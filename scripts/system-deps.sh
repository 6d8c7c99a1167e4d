#!/usr/bin/env bash
# Installs the Debian packages docgen needs when they are missing: WeasyPrint's Pango and
# HarfBuzz's subsetting library (without it every PDF is 3-4 times slower), LibreOffice Writer
# for PDFs from Word templates, and metric-compatible fonts (Liberation for Arial and Times,
# Carlito for Calibri, DejaVu for the tests' HTML) so converted Word documents keep their
# line breaks; Chromium and its WebDriver for the tests of the report page and of the seal's
# verification page.
# Usage: scripts/system-deps.sh [extra Debian packages...]
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig
          libreoffice-writer-nogui fonts-liberation2 fonts-crosextra-carlito fonts-dejavu-core
          chromium chromium-driver "$@")

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "system-deps: not a Debian/Ubuntu system; make sure Pango (>= 1.44) and HarfBuzz's" \
         "subset library are installed (see WeasyPrint's installation guide)." >&2
    exit 0
fi

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing+=("$package")
done
python=${PYTHON:-python3}
if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
else
    echo "system-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
