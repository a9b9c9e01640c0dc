#!/usr/bin/env bash
# Creates infra/.run/interop-venv with the third-party checkers (Python packages);
# idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/../.run/interop-venv"
command -v python3 >/dev/null || { echo "error: python3 is needed for the Avro interoperability check" >&2; exit 1; }
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/requirements.txt"
fi
echo "interop venv ready: $venv"
