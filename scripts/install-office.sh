#!/usr/bin/env bash
# LibreOffice (headless, from Debian) converts .doc / .wps files for the readers (qa/ingest/formats/convert.py)
# and makes the .doc test file (tests/ingest/test_formats.py). Idempotent: installs nothing when soffice is there.
set -euo pipefail

if ! command -v soffice >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if ! apt-cache show libreoffice-writer-nogui >/dev/null 2>&1; then
        $SUDO apt-get update -q
    fi
    $SUDO apt-get install -y -q --no-install-recommends libreoffice-writer-nogui
fi
