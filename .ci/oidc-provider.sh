#!/usr/bin/env bash
# A real OpenID Connect provider for tests: tests/support/oidc/provider.mjs,
# built on the npm package `oidc-provider` (MIT, certified OpenID provider
# library). It stands in for the single sign-on of the public body, so the
# login flow (authorization code + PKCE S256, client_secret_basic) is tested
# against the real protocol rather than a hand-written mock.
#
#   .ci/oidc-provider.sh install            install into the cache (idempotent, quiet)
#   .ci/oidc-provider.sh start DIR PORT
#        start the provider on http://127.0.0.1:PORT (that is also the issuer)
#        in the background, log to DIR/provider.log, PID in DIR/provider.pid;
#        print the PID on stdout once discovery answers 200.
#   .ci/oidc-provider.sh stop DIR           stop the provider started with DIR
#
# `start` passes these environment variables through to the provider:
#   OIDC_CLIENT_ID        client_id of the one confidential client (required)
#   OIDC_CLIENT_SECRET    its client_secret (required)
#   OIDC_REDIRECT_URIS    its redirect URIs, comma separated (required)
#   OIDC_ACCOUNTS         path of a JSON file: [{"sub","email","name"}, ...] (required)
# The login page is GET /interaction/UID; it POSTs the single form field
# `login` (the e-mail address) to /interaction/UID/login.
set -euo pipefail

VERSION=9.13.3
DIR="${OIDC_PROVIDER_DIR:-$HOME/.cache/vergleichsring-oidc}"
MODULES="$DIR/node_modules"
PKG="$MODULES/oidc-provider/package.json"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPT="$ROOT/tests/support/oidc/provider.mjs"

die() { echo "oidc-provider.sh: $*" >&2; exit 1; }

installed() { [ -f "$PKG" ] && grep -q "\"version\": \"$VERSION\"" "$PKG"; }

install() {
  installed && return 0
  if ! command -v npm >/dev/null 2>&1; then
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y --no-install-recommends npm >&2 \
      || { $sudo apt-get update >&2 && $sudo apt-get install -y --no-install-recommends npm >&2; }
  fi
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-audit --no-fund --silent "oidc-provider@$VERSION" >&2 \
    || die "npm install oidc-provider@$VERSION failed"
  installed || die "$PKG does not report version $VERSION"
}

# True while PID runs and is not a zombie.
running() {
  [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# True while PID is our provider, not a reused PID.
alive() { running "$1" && grep -qa 'provider\.mjs' "/proc/$1/cmdline" 2>/dev/null; }

answers() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    "http://127.0.0.1:$1/.well-known/openid-configuration" 2>/dev/null)" || true
  [ "$code" = 200 ]
}

start() {
  local dir="${1:-}" port="${2:-}"
  [ -n "$dir" ] && [ -n "$port" ] || die "usage: $0 start DIR PORT"
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1024 ] && [ "$port" -le 65535 ] \
    || die "PORT must be a number in 1024..65535"
  local var
  for var in OIDC_CLIENT_ID OIDC_CLIENT_SECRET OIDC_REDIRECT_URIS OIDC_ACCOUNTS; do
    [ -n "${!var:-}" ] || die "$var must be set"
  done
  [ -f "$OIDC_ACCOUNTS" ] || die "OIDC_ACCOUNTS: no such file: $OIDC_ACCOUNTS"
  command -v curl >/dev/null || die "curl not found"
  command -v node >/dev/null || die "node not found"
  install
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/provider.pid" ] && alive "$(cat "$dir/provider.pid")"; then
    die "a provider is already running for $dir (pid $(cat "$dir/provider.pid"))"
  fi
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
    die "port $port is already in use"
  fi
  # NODE_PATH does not apply to ESM imports, so the script imports the package
  # from the absolute directory given in OIDC_PROVIDER_MODULES.
  # setsid: own process group, so the caller's job control/signals don't hit it.
  OIDC_PROVIDER_MODULES="$MODULES" OIDC_PORT="$port" \
    OIDC_ACCOUNTS="$(cd "$(dirname "$OIDC_ACCOUNTS")" && pwd)/$(basename "$OIDC_ACCOUNTS")" \
    setsid node "$SCRIPT" </dev/null >"$dir/provider.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/provider.pid"
  local i
  for i in $(seq 1 100); do   # up to ~20 s
    # Right after the fork the child is still bash, before it execs setsid
    # and node, so only check that it runs.
    if ! running "$pid"; then
      tail -n 30 "$dir/provider.log" >&2 || true
      die "the provider exited during startup (log: $dir/provider.log)"
    fi
    if answers "$port"; then
      echo "$pid"
      return 0
    fi
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  tail -n 30 "$dir/provider.log" >&2 || true
  die "the provider did not answer on 127.0.0.1:$port within 20 s (log: $dir/provider.log)"
}

stop() {
  local dir="${1:-}"
  [ -n "$dir" ] || die "usage: $0 stop DIR"
  [ -f "$dir/provider.pid" ] || return 0
  local pid i
  pid="$(cat "$dir/provider.pid")"
  if alive "$pid" && kill "$pid" 2>/dev/null; then
    for i in $(seq 1 50); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$dir/provider.pid"
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) die "usage: $0 install | start DIR PORT | stop DIR" ;;
esac
