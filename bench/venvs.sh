#!/usr/bin/env bash
# Create the separate venvs the benchmark compares against (git-ignored: bench/venvs/).
#   bench/venvs/x12sdk   - PyPI x12sdk
#   bench/venvs/lfh      - PyPI linuxforhealth-x12 with pydantic<2
# Usage: bash bench/venvs.sh [python]   (default: python3.11 or python3)
# A venv whose install fails is removed and reported; bench/run.py then marks that
# contender "not installed".
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${1:-$(command -v python3.11 || command -v python3)}"
mkdir -p "$HERE/venvs"

make_venv() {
    local name="$1"; shift
    local dir="$HERE/venvs/$name"
    if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "import sys; sys.exit(0)" 2>/dev/null \
        && [ -f "$dir/.ok" ]; then
        echo "venv $name: already present"
        return 0
    fi
    rm -rf "$dir"
    "$PY" -m venv "$dir" || { echo "venv $name: cannot create"; return 1; }
    "$dir/bin/pip" install -q --upgrade pip >/dev/null 2>&1 || true
    if "$dir/bin/pip" install -q "$@"; then
        touch "$dir/.ok"
        echo "venv $name: installed $*"
    else
        echo "venv $name: FAILED to install $*"
        rm -rf "$dir"
        return 1
    fi
}

status=0
make_venv x12sdk x12sdk || status=1
make_venv lfh "linuxforhealth-x12" "pydantic<2" || status=1
exit $status
