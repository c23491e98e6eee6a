#!/usr/bin/env bash
# Wall times of the developer loop, median of N runs (default 5): `npx cdk synth --quiet` into a
# fresh folder, and `npm test`; plus the number of tests. Usage: scripts/timings.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}

median_ms() { # command...
  local times=() start end
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

synth() { local out; out=$(mktemp -d); npx cdk synth --quiet --no-notices --output "$out"; rm -rf "$out"; }

echo "cdk synth: $(median_ms synth) ms (median of $runs)"
echo "npm test:  $(median_ms npm test --silent) ms (median of $runs)"
npx jest --silent 2>&1 | grep -E '^Tests:'
