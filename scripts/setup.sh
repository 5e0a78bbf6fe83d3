#!/usr/bin/env bash
# Set up outagewatch on a fresh Debian machine: system tools used by tests and benchmarks
# (bgpdump as the reference parser, chromium for the dashboard's browser tests) and a
# virtual environment in .venv with the package (compiling its C decoder) and dev tools.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v bgpdump >/dev/null 2>&1 || need_apt+=(bgpdump)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing Debian packages: ${need_apt[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    else
        echo "setup: optional tools missing (${need_apt[*]}); tests that need them will skip" >&2
    fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]'
echo "setup: ready (.venv/bin/outagewatch)" >&2
