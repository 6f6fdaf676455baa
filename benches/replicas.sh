#!/usr/bin/env bash
# Two replicas over one lake on S3-compatible storage (SeaweedFS from
# .ci/s3-server.sh): a member uploads through replica A and reads its
# comparison through replica B until the upload shows. Prints p50/p99.
#
#   bash benches/replicas.sh            # 2,000 members, refresh_millis 1000
#   MEMBERS=11000 REFRESH=200 COUNT=50 bash benches/replicas.sh
#
# Uses target/release/vergleichsring if built, else the debug binary.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
BIN="${BIN:-$TARGET/release/vergleichsring}"
[ -x "$BIN" ] || BIN="$TARGET/debug/vergleichsring"
MEMBERS="${MEMBERS:-2000}"
REFRESH="${REFRESH:-1000}"
COUNT="${COUNT:-30}"
YEAR=2024
WORK=$(mktemp -d)
S3_PORT=23400
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  bash .ci/s3-server.sh stop "$WORK/s3" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
bash .ci/s3-server.sh start "$WORK/s3" "$S3_PORT" vergleichsring >/dev/null
echo "== $BIN, $MEMBERS members, refresh_millis $REFRESH"
# Generate into a local data directory, then restore it into the bucket.
$BIN generate --members "$MEMBERS" --years 2020-$YEAR --data-dir "$WORK/local" >/dev/null
$BIN backup --data-dir "$WORK/local" --to "$WORK/backup" >/dev/null
export VERGLEICHSRING_LAKE_URL=s3://vergleichsring/bench
export VERGLEICHSRING_LAKE_ENDPOINT="http://127.0.0.1:$S3_PORT"
export VERGLEICHSRING_LAKE_ACCESS_KEY_ID=vergleichsring
export VERGLEICHSRING_LAKE_SECRET_ACCESS_KEY=vergleichsring-secret
export VERGLEICHSRING_LAKE_ALLOW_HTTP=true
export VERGLEICHSRING_LAKE_REFRESH_MILLIS="$REFRESH"
export RUST_LOG=warn,buoyant_kernel=off
$BIN restore --from "$WORK/backup" --data-dir "$WORK/ring" >/dev/null
MEMBER_ID=$(python3 benches/first_member.py "$WORK/local")
MEMBER=$($BIN token create --data-dir "$WORK/ring" --role member --member-id "$MEMBER_ID")
$BIN serve --data-dir "$WORK/ring" --listen 127.0.0.1:18081 & PIDS+=($!)
$BIN serve --data-dir "$WORK/ring" --listen 127.0.0.1:18082 & PIDS+=($!)
for port in 18081 18082; do
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done
curl -sf -H "Authorization: Bearer $MEMBER" "http://127.0.0.1:18081/api/v1/figures/library/$YEAR" > "$WORK/figures.json"
echo "upload through A, read through B:"
python3 benches/upload_visible.py --base http://127.0.0.1:18081 --read-base http://127.0.0.1:18082 \
  --token "$MEMBER" --year "$YEAR" --figures "$WORK/figures.json" --count "$COUNT"
echo "upload through A, read through A:"
python3 benches/upload_visible.py --base http://127.0.0.1:18081 \
  --token "$MEMBER" --year "$YEAR" --figures "$WORK/figures.json" --count "$COUNT"
