#!/usr/bin/env bash
# Every engine figure in one run: the side-by-side kit (Accrue against the bare DuckDB floor
# and the pandas script a user would write, ../shared/bench) next to the 20-program benchmark.
#   bench/all.sh [N_LINES]      (from the project root, after make test; default 1,000,000)
set -euo pipefail
n=${1:-1000000}
kit="$(dirname "$0")/../../shared/bench/side-by-side.sh"
if [ -f "$kit" ]; then
  bash "$kit" "$n"
else
  echo "side-by-side kit not found at $kit: skipped (it lives in the steering repo's shared/)"
fi
.venv/bin/python "$(dirname "$0")/run.py" --lines "$n"
