#!/usr/bin/env bash
# A real SMTP server for tests that send mail: tests/support/smtp_capture.py,
# built on aiosmtpd (PyPI, Apache-2.0) in a venv of its own, pinned by hash.
# It offers STARTTLS and requires it, requires AUTH (PLAIN or LOGIN), and
# stores every accepted message as a file instead of delivering it.
#
#   .ci/smtp-capture.sh install            install into the cache (idempotent, quiet)
#   .ci/smtp-capture.sh start DIR PORT
#        start on 127.0.0.1:PORT with its files under DIR, in the background;
#        print the PID on stdout once the server answers SMTP.
#        DIR/cert.pem, DIR/key.pem  self-signed certificate (made once) for
#                                   DNS:localhost and IP:127.0.0.1, CA:FALSE;
#                                   a client trusts DIR/cert.pem as its root
#                                   and connects with the name `localhost`
#        DIR/mail/NNNNNN.eml        one file per accepted message, numbered
#                                   from 000001; it appears whole (renamed
#                                   into place): read only *.eml names
#        DIR/smtp.log, DIR/smtp.pid
#   .ci/smtp-capture.sh stop DIR           stop the server started with DIR
#
# Credentials: SMTP_CAPTURE_USER / SMTP_CAPTURE_PASSWORD from the environment
# of `start`, by default `vergleichsring` / `smtp-secret`.
# Each .eml holds the message as received (DATA, dot-unstuffed, CRLF line
# ends), preceded by the lines `X-Envelope-From: <sender>` and
# `X-Envelope-To: <rcpt>, <rcpt>`.
set -euo pipefail

AIOSMTPD_VERSION="1.4.6"
CACHE_DIR="${SMTP_CAPTURE_DIR:-$HOME/.cache/vergleichsring-smtp}"
VENV="$CACHE_DIR/venv"
VPY="$VENV/bin/python"
PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVER="$ROOT/tests/support/smtp_capture.py"

die() { echo "smtp-capture.sh: $*" >&2; exit 1; }

# Install Debian packages as root, or through sudo; a stale package list
# gets one `apt-get update` and a second try.
apt_install() {
  local SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >&2 \
    || { $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq --no-install-recommends "$@" >&2; }
}

installed() {
  [ -x "$VPY" ] && "$VPY" - "$AIOSMTPD_VERSION" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
import aiosmtpd.controller  # noqa: F401  (the import itself is the check)
sys.exit(version("aiosmtpd") != sys.argv[1])
PY
}

install() {
  installed && return 0
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
  mkdir -p "$CACHE_DIR"
  rm -rf "$VENV"
  if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
    # Debian's python3 ships venv (ensurepip) as the separate python3-venv.
    rm -rf "$VENV"
    apt_install python3-venv || die "could not install python3-venv"
    "$PYTHON" -m venv "$VENV" >&2 || die "$PYTHON -m venv $VENV failed"
  fi
  local tmp
  tmp="$(mktemp -d "$CACHE_DIR/.install.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  # aiosmtpd and everything it pulls in, as pure-Python wheels.
  cat >"$tmp/req.txt" <<REQ
aiosmtpd==$AIOSMTPD_VERSION --hash=sha256:72c99179ba5aa9ae0abbda6994668239b64a5ce054471955fe75f581d2592475
atpublic==9.0.0 --hash=sha256:449c3c4f0c74df79749d6fe225ba55e2a2fce34b303f0329211e4d6989ed6f6e
attrs==26.1.0 --hash=sha256:c647aa4a12dfbad9333ca4e71fe62ddc36f4e63b2d260a37a8b83d2f043ac309
REQ
  "$VPY" -m pip install --quiet --disable-pip-version-check --no-input \
    --only-binary=:all: --require-hashes -r "$tmp/req.txt" >&2 \
    || die "pip install aiosmtpd==$AIOSMTPD_VERSION failed"
  rm -rf "$tmp"
  trap - EXIT
  installed || die "aiosmtpd $AIOSMTPD_VERSION does not import from $VENV"
}

# A certificate that rustls (webpki) accepts as both trust anchor and server
# certificate: webpki refuses a CA:TRUE certificate as the end entity, which
# `openssl req -x509` would make by default.
make_cert() {
  local dir="$1"
  [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] && return 0
  command -v openssl >/dev/null || apt_install openssl || die "could not install openssl"
  cat >"$dir/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = localhost
[ext]
subjectAltName = DNS:localhost, IP:127.0.0.1
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
  # The key is written to a temporary name first so that an interrupted run
  # leaves no pair that looks complete.
  openssl req -x509 -config "$dir/openssl.cnf" -newkey ec \
    -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
    -keyout "$dir/key.pem.tmp" -out "$dir/cert.pem.tmp" 2>"$dir/openssl.log" \
    || { cat "$dir/openssl.log" >&2; die "openssl could not make the certificate"; }
  mv -f "$dir/key.pem.tmp" "$dir/key.pem"
  mv -f "$dir/cert.pem.tmp" "$dir/cert.pem"
  rm -f "$dir/openssl.cnf" "$dir/openssl.log"
}

# True while PID is a live smtp_capture.py (not a zombie, not a reused PID).
alive() { grep -q smtp_capture "/proc/$1/cmdline" 2>/dev/null; }

# True once 127.0.0.1:PORT greets with 220 and answers EHLO.
answers() {
  "$VPY" - "$1" 2>/dev/null <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), "localhost", timeout=2) as s:
    code, _ = s.ehlo()
    sys.exit(code != 250)
PY
}

start() {
  local dir="${1:-}" port="${2:-}"
  [ -n "$dir" ] && [ -n "$port" ] || die "usage: $0 start DIR PORT"
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] \
    || die "PORT must be a number in 1..65535"
  install
  mkdir -p "$dir/mail"
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/smtp.pid" ] && alive "$(cat "$dir/smtp.pid")"; then
    die "a server is already running for $dir (pid $(cat "$dir/smtp.pid"))"
  fi
  if answers "$port"; then
    die "port $port is already in use"
  fi
  make_cert "$dir"
  # setsid: own process group, so the caller's job control/signals don't hit it.
  setsid "$VPY" "$SERVER" --dir "$dir" --port "$port" </dev/null >"$dir/smtp.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/smtp.pid"
  local i
  for i in $(seq 1 100); do   # up to ~20 s
    if ! alive "$pid"; then
      tail -n 30 "$dir/smtp.log" >&2 || true
      die "smtp_capture.py exited during startup (log: $dir/smtp.log)"
    fi
    if answers "$port"; then
      echo "$pid"
      return 0
    fi
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  tail -n 30 "$dir/smtp.log" >&2 || true
  die "smtp_capture.py did not answer on 127.0.0.1:$port within 20 s (log: $dir/smtp.log)"
}

stop() {
  local dir="${1:-}"
  [ -n "$dir" ] || die "usage: $0 stop DIR"
  [ -f "$dir/smtp.pid" ] || return 0
  local pid i
  pid="$(cat "$dir/smtp.pid")"
  if alive "$pid" && kill "$pid" 2>/dev/null; then
    for i in $(seq 1 100); do   # it stops within a second on SIGTERM
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$dir/smtp.pid"
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) die "usage: $0 install | start DIR PORT | stop DIR" ;;
esac
