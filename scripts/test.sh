#!/usr/bin/env bash
# npm test: Jest, then the Python tests (the Glue helpers, the Spark jobs on a local Spark, the
# local Glue stand-in) with the pinned PySpark of .venv/. Arguments go to Jest.
# Where .venv/ cannot be made (no Python 3.11, no Java, no PyPI) the Spark tests skip and say
# why; with CI=true that is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

setup_log=$(mktemp)
trap 'rm -f "$setup_log"' EXIT
set +e
bash scripts/python/setup.sh 2>&1 | tee "$setup_log" >&2
setup_status=${PIPESTATUS[0]}
set -e
if [[ $setup_status -eq 0 ]]; then
  python=.venv/bin/python
else
  reason=$(tail -n 1 "$setup_log")
  if [[ ${CI:-} == true ]]; then
    echo "npm test: CI=true and the Python environment could not be made: the Spark tests cannot run" >&2
    exit 1
  fi
  export DYNALAKE_SPARK_UNAVAILABLE="${reason##*python setup: }"
  python=python3
  echo "npm test: the Spark tests will skip ($DYNALAKE_SPARK_UNAVAILABLE)" >&2
fi

# Jest's Spark tests start short-lived Spark drivers on small inputs (the engine comparisons, the
# job layouts): a driver JVM that compiles with C1 only and collects on one thread spends the two
# cores on the tests rather than on its JIT and GC (the engine goldens alone, 2026-12-07: 110 to
# 119 s against 131 to 141 s). pytest's sessions live longer and gain nothing from it (225 against
# 227 s), nor lose: they keep the defaults. PySpark's launcher reads PYSPARK_SUBMIT_ARGS for every
# session. A value of your own is kept; `npm start -- --engine spark` keeps the JVM's defaults.
jest_spark_submit_args=${PYSPARK_SUBMIT_ARGS:-'--driver-java-options "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" pyspark-shell'}

# The whole suite measures coverage against the thresholds in config: package.json
# (jest.coverageThreshold: 90% of lines, 85% of branches of lib/, lambda/ and scripts/) and
# .coveragerc (90% of the lines of glue-scripts/, Spark tests and job runs included). A run of
# chosen Jest tests measures neither.
pytest_coverage=()
if [[ $# -eq 0 ]]; then
  # Jest's default is a worker per core but one, leaving the main process a core: on a 2-core
  # machine that is one worker and an idle core (973 s against 681 s with two, 2026-12-06). Up to
  # two cores, one worker more than cores: the suites spend much of their time waiting on the
  # processes they start (Spark's JVMs, the CLIs, cfn-lint, Checkov), and a third worker fills
  # that wait (2 cores, 2026-12-08: Jest 657 s with three on a fresh clone and 699 s in a CI run,
  # against 731 to 787 s with two in the CI runs of the day before).
  cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
  workers=$((cores > 2 ? cores - 1 : cores + 1))
  set -- --coverage --coverageDirectory=coverage --maxWorkers="$workers"
  [[ $setup_status -eq 0 ]] && pytest_coverage=(--cov --cov-report=term-missing:skip-covered)
fi
# V8 collects each worker's heap (gigabytes with coverage on) with a helper thread per core: with
# two workers on two cores the helpers cost more than they save. One thread per heap took the
# construct suites from 104 to 111 s to 68 to 69 s (2026-12-07; user CPU 199 to 212 s against 128
# to 132 s). Jest's workers inherit the flag.
PYSPARK_SUBMIT_ARGS=$jest_spark_submit_args node --single-threaded-gc node_modules/jest/bin/jest.js "$@"
"$python" -m pytest "${pytest_coverage[@]}"
