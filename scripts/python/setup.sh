#!/usr/bin/env bash
# Creates the project's Python environment in .venv/ (ignored) with the pinned packages of
# glue-scripts/requirements*.txt (and Checkov's, in .venv/checkov/, from scripts/python/requirements-checkov.txt),
# and reuses it while those pins and the Python are unchanged.
#   bash scripts/python/setup.sh        # exit 0 when .venv/ is ready, non-zero with the reason
# The Glue 5.0 runtime is Python 3.11 and Java 17; another Python is refused rather than tested
# against, since the jobs would meet a different interpreter on Glue.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.venv
stamp="$venv/.dynalake-pins"
python=${DYNALAKE_PYTHON:-python3}

fail() { echo "python setup: $*" >&2; exit 1; }

command -v "$python" >/dev/null || fail "no $python on PATH: install Python 3.11 (the Glue 5.0 runtime)"
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[[ $version == 3.11 ]] || fail "$python is Python $version; the Glue 5.0 jobs run on Python 3.11 (set DYNALAKE_PYTHON to a 3.11 interpreter)"
command -v java >/dev/null || fail "no java on PATH: the local Spark needs Java 17 (the Glue 5.0 runtime)"

want="python $("$python" -c 'import sys; print(sys.version)' | head -1)
$(cat glue-scripts/requirements.txt glue-scripts/requirements-dev.txt scripts/python/requirements-checkov.txt | sha256sum)"
if [[ -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

echo "python setup: creating $venv with the pins of glue-scripts/requirements-dev.txt (once; PySpark is ~320 MB)" >&2
rm -rf "$venv"
"$python" -m venv "$venv" || fail "python -m venv failed (Debian: apt-get install python3-venv)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --require-virtualenv \
  -r glue-scripts/requirements-dev.txt || { rm -rf "$venv"; fail "pip could not install glue-scripts/requirements-dev.txt (see above)"; }
# Checkov in an environment of its own inside .venv/: its pins conflict with the project's.
"$python" -m venv "$venv/checkov" || { rm -rf "$venv"; fail "python -m venv failed for Checkov"; }
"$venv/checkov/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --require-virtualenv \
  -r scripts/python/requirements-checkov.txt || { rm -rf "$venv"; fail "pip could not install scripts/python/requirements-checkov.txt (see above)"; }
printf '%s\n' "$want" >"$stamp"
echo "python setup: $venv ready" >&2
