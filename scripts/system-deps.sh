#!/usr/bin/env bash
# System packages the tests need, installed when missing: Debian's chromium for the browser test
# (tests/test_browser.py drives /usr/bin/chromium with Playwright's Python client; never a downloaded browser).
# Needs root or passwordless sudo; says what to do where it cannot install.
set -euo pipefail
CHROMIUM="${TUTOR_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
echo "system-deps: $CHROMIUM not found; installing Debian's chromium for the browser test" >&2
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "system-deps: cannot install chromium: not root and no passwordless sudo." >&2
  echo "  Install it yourself (sudo apt-get update && sudo apt-get install -y chromium)," >&2
  echo "  or point TUTOR_CHROMIUM at an existing Chromium binary, then run make test again." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: cannot install chromium: apt-get not found (not a Debian-based system)." >&2
  echo "  Install Chromium with your package manager and set TUTOR_CHROMIUM to its path." >&2
  exit 1
fi
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
if [ ! -x "$CHROMIUM" ]; then
  echo "system-deps: apt-get finished but $CHROMIUM is still missing; set TUTOR_CHROMIUM to the installed binary." >&2
  exit 1
fi
echo "system-deps: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)" >&2
