#!/usr/bin/env bash
# End-to-end check of the test OpenID provider (tests/support/oidc/provider.mjs)
# without a browser: curl with a cookie jar walks the authorization code flow
# with PKCE (S256) the way a browser and the service would, and python3 reads
# the JSON and the ID token. Prints "OK" when everything holds.
#
#   bash tests/support/oidc/smoke.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
CTL="$ROOT/.ci/oidc-provider.sh"
CLIENT_ID="smoke-client"
CLIENT_SECRET="smoke-secret"
REDIRECT_URI="http://127.0.0.1:9/callback"

fail() { echo "smoke.sh: FAIL: $*" >&2; exit 1; }
step() { echo "- $*"; }
# json FILE EXPR: print a Python expression over the parsed JSON `d`.
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

for tool in curl openssl python3 node; do
  command -v "$tool" >/dev/null || fail "$tool not found"
done

TMP="$(mktemp -d)"
cleanup() {
  local rc=$?
  bash "$CTL" stop "$TMP" || true
  # On failure the provider's log usually says why.
  if [ "$rc" != 0 ] && [ -f "$TMP/provider.log" ]; then
    echo "--- provider.log (tail)" >&2
    tail -n 30 "$TMP/provider.log" >&2
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
ISSUER="http://127.0.0.1:$PORT"
JAR="$TMP/cookies.txt"
cat >"$TMP/accounts.json" <<'EOF'
[
  {"sub": "u-erika", "email": "Erika.Mustermann@example.org", "name": "Erika Mustermann"},
  {"sub": "u-max", "email": "max@example.org", "name": "Max Mustermann"}
]
EOF

bash "$CTL" install
PID="$(OIDC_CLIENT_ID="$CLIENT_ID" OIDC_CLIENT_SECRET="$CLIENT_SECRET" \
  OIDC_REDIRECT_URIS="$REDIRECT_URI" OIDC_ACCOUNTS="$TMP/accounts.json" \
  bash "$CTL" start "$TMP" "$PORT")"
step "provider started (pid $PID, issuer $ISSUER)"

curl -fsS "$ISSUER/.well-known/openid-configuration" -o "$TMP/discovery.json"
[ "$(json "$TMP/discovery.json" 'd["issuer"]')" = "$ISSUER" ] || fail "discovery issuer"
[ "$(json "$TMP/discovery.json" '"S256" in d["code_challenge_methods_supported"]')" = True ] \
  || fail "S256 not in code_challenge_methods_supported"
AUTHZ="$(json "$TMP/discovery.json" 'd["authorization_endpoint"]')"
TOKEN="$(json "$TMP/discovery.json" 'd["token_endpoint"]')"
step "discovery: authorization $AUTHZ, token $TOKEN"

VERIFIER="$(openssl rand 48 | b64url)"
CHALLENGE="$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | b64url)"
STATE="$(openssl rand 16 | b64url)"
NONCE="$(openssl rand 16 | b64url)"

# request [curl args...]: one request with the cookie jar, no redirects
# followed; prints "STATUS LOCATION" (LOCATION resolved to an absolute URL).
request() {
  curl -sS -b "$JAR" -c "$JAR" -o "$TMP/body" -w '%{http_code} %{redirect_url}\n' "$@"
}

# PKCE is required: an authorization request without code_challenge is
# answered with an error redirect to the client.
read -r status location < <(request -G "$AUTHZ" \
  --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "response_type=code" \
  --data-urlencode "scope=openid email profile" --data-urlencode "redirect_uri=$REDIRECT_URI" \
  --data-urlencode "state=$STATE" --data-urlencode "nonce=$NONCE")
case "$location" in
  "$REDIRECT_URI?"*error=invalid_request*) ;;
  *) fail "authorization without code_challenge: $status $location" ;;
esac
step "authorization request without code_challenge rejected"

read -r status location < <(request -G "$AUTHZ" \
  --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "response_type=code" \
  --data-urlencode "scope=openid email profile" --data-urlencode "redirect_uri=$REDIRECT_URI" \
  --data-urlencode "state=$STATE" --data-urlencode "nonce=$NONCE" \
  --data-urlencode "code_challenge=$CHALLENGE" --data-urlencode "code_challenge_method=S256")
[[ "$status" = 303 && "$location" =~ ^$ISSUER/interaction/([A-Za-z0-9_-]+)$ ]] \
  || fail "authorization request: $status $location"
UID_="${BASH_REMATCH[1]}"
step "authorization request -> $location"

read -r status location < <(request "$ISSUER/interaction/$UID_")
[ "$status" = 200 ] || fail "login page: HTTP $status"
for needle in '<html lang="de">' '<title>' '<main>' '<h1>' '<label for="login">E-Mail-Adresse</label>' \
  'id="login" name="login"' "action=\"/interaction/$UID_/login\"" '>Anmelden</button>'; do
  grep -qF "$needle" "$TMP/body" || fail "login page lacks $needle"
done
step "login page GET /interaction/$UID_ (200)"

read -r status location < <(request "$ISSUER/interaction/$UID_/login" --data-urlencode "login=nobody@example.org")
[ "$status" = 400 ] && grep -q 'role="alert"' "$TMP/body" || fail "unknown e-mail: HTTP $status"
step "unknown e-mail -> 400 with error text"

# The address in other case than in the accounts file: lookup is case-insensitive.
read -r status location < <(request "$ISSUER/interaction/$UID_/login" --data-urlencode "login=erika.mustermann@EXAMPLE.org")
[ "$status" = 303 ] || fail "login POST: HTTP $status $(head -c 300 "$TMP/body")"
step "login POST -> $status $location"
for _ in 1 2 3 4 5 6 7 8; do
  case "$location" in "$REDIRECT_URI"*) break ;; esac
  [ -n "$location" ] || fail "redirect chain ended at HTTP $status: $(head -c 300 "$TMP/body")"
  read -r status location < <(request "$location")
  step "  -> $status $location"
done
case "$location" in "$REDIRECT_URI?"*) ;; *) fail "never redirected to $REDIRECT_URI" ;; esac

python3 - "$location" >"$TMP/callback" <<'PY'
import sys, urllib.parse
q = urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query)
print(q.get("code", [""])[0], q.get("state", [""])[0], q.get("iss", [""])[0])
PY
read -r CODE GOT_STATE GOT_ISS <"$TMP/callback"
[ -n "$CODE" ] || fail "no code in $location"
[ "$GOT_STATE" = "$STATE" ] || fail "state mismatch: $GOT_STATE"
step "callback: code received, state matches, iss=$GOT_ISS"

# Token request without code_verifier must fail (and leaves the code unused).
status="$(curl -sS -o "$TMP/token" -w '%{http_code}' -u "$CLIENT_ID:$CLIENT_SECRET" "$TOKEN" \
  --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \
  --data-urlencode "redirect_uri=$REDIRECT_URI")"
[ "$status" = 400 ] && [ "$(json "$TMP/token" 'd["error"]')" = invalid_grant ] \
  || fail "token request without code_verifier: HTTP $status $(cat "$TMP/token")"
step "token request without code_verifier -> 400 invalid_grant"

status="$(curl -sS -o "$TMP/token" -w '%{http_code}' -u "$CLIENT_ID:$CLIENT_SECRET" "$TOKEN" \
  --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=$VERIFIER")"
[ "$status" = 200 ] || fail "token request: HTTP $status $(cat "$TMP/token")"
step "token request with client_secret_basic + code_verifier -> 200"

python3 - "$TMP/token" "$ISSUER" "$CLIENT_ID" "$NONCE" <<'PY'
import base64, json, sys
token_file, issuer, client_id, nonce = sys.argv[1:]
tokens = json.load(open(token_file))
def part(s):
    return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
header_b64, payload_b64, _sig = tokens["id_token"].split(".")
header, claims = part(header_b64), part(payload_b64)
expected = {
    "iss": issuer, "aud": client_id, "nonce": nonce, "sub": "u-erika",
    "email": "Erika.Mustermann@example.org", "email_verified": True, "name": "Erika Mustermann",
}
errors = [f"{k}={claims.get(k)!r}, expected {v!r}" for k, v in expected.items() if claims.get(k) != v]
if header.get("alg") != "RS256":
    errors.append(f"alg={header.get('alg')!r}")
if errors:
    sys.exit("smoke.sh: FAIL: id_token: " + "; ".join(errors))
print(f"- id_token ({header['alg']}, kid {header.get('kid')}): " + json.dumps(
    {k: claims[k] for k in ("iss", "aud", "sub", "email", "email_verified", "name", "nonce")}))
PY

sed 's/^/  provider.log: /' "$TMP/provider.log"
bash "$CTL" stop "$TMP"
# A zombie (exited, not yet reaped) counts as stopped.
if [ -r "/proc/$PID/stat" ] && [ "$(cut -d' ' -f3 "/proc/$PID/stat")" != Z ]; then
  fail "provider still running after stop"
fi
step "provider stopped"
echo OK
