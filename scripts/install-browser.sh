#!/usr/bin/env bash
# Headless Chromium from Debian for the end-to-end browser tests (tests/app).
# Idempotent: installs nothing when chromium, chromedriver and playwright are already there.
# Never runs `playwright install`: no browser builds are downloaded; tests launch /usr/bin/chromium.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    # Refresh the package lists only when they are missing (a fresh machine) or apt cannot see chromium.
    if ! apt-cache show chromium >/dev/null 2>&1; then
        $SUDO apt-get update -q
    fi
    $SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-noto-cjk
fi

# The Python driver only (it talks to the Debian chromium over CDP).
if ! python -c "import playwright" >/dev/null 2>&1; then
    python -m pip install -q "playwright>=1.45"
fi
