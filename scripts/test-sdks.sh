#!/usr/bin/env bash
# Tests the Python, Go and Rust SDKs (sdks/*) against a live Loam each suite starts through
# sdks/testserver.mjs. Installs the toolchains from Debian when missing (idempotent), builds Loam
# when packages/cli has not been built, and prints one closing line per suite.
#   scripts/test-sdks.sh            # all three
#   scripts/test-sdks.sh python go  # some
#   scripts/test-sdks.sh --prebuild  # only install the toolchains and compile the Go and Rust
#                                    # suites (CI runs this in the background during npm ci)
set -uo pipefail
cd "$(dirname "$0")/.."

prebuild=0
if [ "${1:-}" = "--prebuild" ]; then prebuild=1; shift; fi
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(python go rust)

# Debian's Python packages belong to /usr/bin/python3 (another python3 may come first on the PATH);
# Debian's cargo and rustc are in /usr/bin (a rustup cargo may come first).
PY=/usr/bin/python3
CARGO=/usr/bin/cargo
DEBS=(python3-httpx python3-pytest python3-hatchling golang-go cargo rustc
  librust-reqwest-dev librust-tokio-dev librust-serde-dev librust-serde-derive-dev librust-serde-json-dev
  librust-thiserror-dev librust-futures-dev librust-async-stream-dev librust-bytes-dev librust-rand-dev librust-url-dev)

missing=()
for pkg in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "sdks: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
    { echo "sdks: cannot install ${missing[*]}" >&2; exit 1; }
fi

if [ $prebuild -eq 1 ]; then
  started=$SECONDS
  (cd sdks/go && GOFLAGS=-mod=mod GOPROXY=off go test -count=1 -run '^$' ./... >/dev/null) || echo "sdks: prebuild: go did not compile" >&2
  (cd sdks/rust && $CARGO test --offline --quiet --no-run) || echo "sdks: prebuild: rust did not compile" >&2
  echo "sdks: prebuild: toolchains installed, go and rust compiled in $((SECONDS - started)) s"
  exit 0
fi

if [ ! -f packages/cli/dist/index.js ] || [ ! -f packages/server/dist/app.js ]; then
  echo "sdks: building Loam (npm run build)"
  npm run build >/dev/null || { echo "sdks: npm run build failed" >&2; exit 1; }
fi

status=0
summary=()
run() {
  local name=$1; shift
  local started=$SECONDS
  echo "sdks: $name: $*"
  if "$@"; then
    summary+=("sdks: $name: passed in $((SECONDS - started)) s")
  else
    status=1
    summary+=("sdks: $name: FAILED after $((SECONDS - started)) s")
  fi
}

for suite in "${suites[@]}"; do
  case $suite in
    python) run python "$PY" -m pytest -q -p no:cacheprovider sdks/python ;;
    go) run go bash -c 'cd sdks/go && GOFLAGS=-mod=mod GOPROXY=off go vet ./... && GOPROXY=off go test -count=1 ./...' ;;
    rust) run rust bash -c "cd sdks/rust && $CARGO test --offline --quiet" ;;
    *) echo "sdks: unknown suite $suite" >&2; status=1 ;;
  esac
done
printf '%s\n' "${summary[@]}"
exit $status
