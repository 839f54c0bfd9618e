# Sourced by scripts/run and scripts/test: make .venv and install the pinned packages.
# Usage: . scripts/_bootstrap.sh [dev]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON="$candidate"
      break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi

extras="${1:-}"
target="."
[ "$extras" = "dev" ] && target=".[dev]"

if [ ! -x .venv/bin/python ]; then
  echo "==> Creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi

# Reinstall only when the pins, the project file or the wanted extras changed.
stamp=".venv/.installed-${extras:-base}"
fresh() { [ -f "$1" ] && [ ! constraints.txt -nt "$1" ] && [ ! pyproject.toml -nt "$1" ]; }
# The dev install includes everything the app needs.
if ! fresh "$stamp" && ! { [ -z "$extras" ] && fresh .venv/.installed-dev; }; then
  echo "==> Installing pinned packages (constraints.txt)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e "$target"
  touch "$stamp"
fi

export PATH="$ROOT/.venv/bin:$PATH"
