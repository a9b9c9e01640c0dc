#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) for the SDK's browser test; idempotent.
# playwright-core drives it: no test tool downloads a browser of its own.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
    echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
    exit 0
fi
command -v apt-get >/dev/null || { echo "error: no /usr/bin/chromium and no apt-get to install it" >&2; exit 1; }
as_root=()
[[ $(id -u) -eq 0 ]] || as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq chromium >/dev/null
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
