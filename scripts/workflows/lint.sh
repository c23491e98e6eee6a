#!/usr/bin/env bash
# Lints .github/workflows/ with actionlint, with its shellcheck integration on every `run:` script.
#   bash scripts/workflows/lint.sh     (npm run lint:workflows; .ci/run runs it)
# Both tools are pinned and installed by this script: actionlint from the Go module proxy into
# .tools/ (ignored), rebuilt only when its pin changes; shellcheck from Debian when it is missing.
# actionlint silently skips its shellcheck rule without shellcheck, so a missing one fails here.
set -euo pipefail
cd "$(dirname "$0")/../.."

ACTIONLINT_VERSION=v1.7.12
SHELLCHECK_VERSION=0.9.0-1
bin=.tools/bin
fail() { echo "workflow lint: $*" >&2; exit 1; }

if [[ ! -x $bin/actionlint || "$("$bin/actionlint" -version | head -1)" != "$ACTIONLINT_VERSION" ]]; then
  command -v go >/dev/null || fail "no go on PATH: actionlint $ACTIONLINT_VERSION builds from the Go module proxy"
  echo "workflow lint: building actionlint $ACTIONLINT_VERSION into $bin (once)" >&2
  mkdir -p "$bin"
  GOBIN="$PWD/$bin" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" || fail "go install actionlint@$ACTIONLINT_VERSION failed (see above)"
fi

if ! command -v shellcheck >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "workflow lint: installing shellcheck $SHELLCHECK_VERSION from Debian (once)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "shellcheck=$SHELLCHECK_VERSION" >/dev/null || fail "apt-get could not install shellcheck=$SHELLCHECK_VERSION"
  else
    fail "no shellcheck on PATH: install it (Debian: apt-get install shellcheck=$SHELLCHECK_VERSION); actionlint would skip the run: scripts without it"
  fi
fi

shellcheck=$(command -v shellcheck)
# The check must be able to fail: a workflow with an unquoted variable in a run: script is refused
# (shellcheck's SC2086 through actionlint), or the integration is off and this lint proves nothing.
bad=$'on: push\njobs:\n  probe:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $HOME\n'
probe=$(printf '%s' "$bad" | "$bin/actionlint" -shellcheck "$shellcheck" -no-color -oneline - || true)
[[ $probe == *SC2086* ]] || fail "actionlint did not report shellcheck's SC2086 on a probe workflow: its shellcheck integration is not working"

"$bin/actionlint" -shellcheck "$shellcheck" -no-color
echo "workflow lint: .github/workflows/ has no finding (actionlint $ACTIONLINT_VERSION, shellcheck $(shellcheck --version | sed -n 's/^version: //p'))"
