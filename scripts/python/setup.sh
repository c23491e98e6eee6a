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
# Checkov in an environment of its own inside .venv/: its pins conflict with the project's.
"$python" -m venv "$venv/checkov" || { rm -rf "$venv"; fail "python -m venv failed for Checkov"; }
# Both installs at once, and without compiling every module of every package up front (Python
# compiles what is imported, once, into the environment): pip spends its time on the CPU, and the
# two took 106 s one after the other, compiled, against 26 and 52 s uncompiled (2026-12-07, this
# 2-core machine, pip's cache warm).
pip_install() { "$1" -m pip install --quiet --no-compile --disable-pip-version-check --no-input --require-virtualenv -r "$2"; }
pip_install "$venv/checkov/bin/python" scripts/python/requirements-checkov.txt &
checkov_install=$!
project_status=0
pip_install "$venv/bin/python" glue-scripts/requirements-dev.txt || project_status=$?
checkov_status=0
wait "$checkov_install" || checkov_status=$?
if ((project_status != 0 || checkov_status != 0)); then
  rm -rf "$venv"
  ((project_status != 0)) && fail "pip could not install glue-scripts/requirements-dev.txt (see above)"
  fail "pip could not install scripts/python/requirements-checkov.txt (see above)"
fi
printf '%s\n' "$want" >"$stamp"
echo "python setup: $venv ready" >&2
