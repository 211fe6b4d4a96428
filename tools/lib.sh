# Shared settings for the tools/ scripts. Sourced, never run.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${NFV_VENV:-$ROOT/.venv}
BUILD_DIR=$ROOT/build
# Where the built collection is installed for playbooks and ansible-doc.
# shellcheck disable=SC2034 # used by the scripts that source this file
COLLECTIONS_DIR=$BUILD_DIR/collections
# Two cores: one cargo job at a time leaves room for the tests.
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
export PATH=$VENV/bin:$HOME/.cargo/bin:$PATH

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The Pythons on the host that can make a venv, newest first: versioned commands on PATH,
# pyenv's versions, then the system's python3.
usable_pythons() {
    local c found
    for c in python3.14 python3.13 python3.12 python3.11 python3.10 python3.9 \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3 /usr/bin/python3; do
        command -v "$c" >/dev/null 2>&1 || continue
        # pyenv's shim of a version it does not activate exists but fails.
        if found=$("$c" -c 'import sys, venv, ensurepip; print("%d.%d %s" % (sys.version_info[:2] + (sys.executable,)))' 2>/dev/null); then
            echo "$found"
        fi
    done | sort -t. -k1,1nr -k2,2nr -s
}

# The newest Python 3.12+ on the host (ansible-core 2.20 and later need it), else python3.
pick_python() {
    local best
    best=$(usable_pythons | awk '{split($1, v, "."); if (v[1] == 3 && v[2] >= 12) {print $2; exit}}')
    echo "${best:-python3}"
}

# The controller Pythons each ansible-core release supports (its setup.cfg's python_requires).
core_python_range() {
    case $1 in
    2.14 | 2.15) echo "9 11" ;;
    2.16 | 2.17) echo "10 12" ;;
    2.18 | 2.19) echo "11 13" ;;
    *) echo "12 14" ;;
    esac
}

# A venv under build/venvs/ holding ansible-core VERSION (major.minor, its newest patch release)
# on the newest Python that release supports; created on first use. Prints its path.
core_venv() {
    local version=$1 dir=$BUILD_DIR/venvs/ansible-core-$1 lo hi python
    if [ ! -x "$dir/bin/ansible-test" ]; then
        read -r lo hi < <(core_python_range "$version")
        python=$(usable_pythons | awk -v lo="$lo" -v hi="$hi" \
            '{split($1, v, "."); if (v[1] == 3 && v[2] >= lo && v[2] <= hi) {print $2; exit}}')
        [ -n "$python" ] || die "ansible-core $version needs Python 3.$lo to 3.$hi; none found"
        say "venv: $dir with $("$python" --version)"
        rm -rf "$dir"
        "$python" -m venv "$dir"
        "$dir/bin/pip" install -q --disable-pip-version-check "ansible-core==$version.*" >&2
    fi
    echo "$dir"
}
