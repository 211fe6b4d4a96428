# Shared settings for the tools/ scripts. Sourced, never run.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${NFV_VENV:-$ROOT/.venv}
BUILD_DIR=$ROOT/build
# Where the built collection is installed for playbooks and ansible-doc.
COLLECTIONS_DIR=$BUILD_DIR/collections
# Two cores: one cargo job at a time leaves room for the tests.
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
export PATH=$VENV/bin:$HOME/.cargo/bin:$PATH

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The newest Python 3.12+ on the host (ansible-core 2.20 and later need it), else python3.
pick_python() {
    local c best=""
    for c in python3.14 python3.13 python3.12 $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            best=$(command -v "$c")
            break
        fi
    done
    echo "${best:-python3}"
}
