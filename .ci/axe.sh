#!/usr/bin/env bash
# axe-core, the accessibility engine the browser test injects into every
# page (WCAG 2.1 A and AA, what BITV 2.0 asks of German public bodies).
# Installed from the npm registry into a cache shared between CI runs;
# npm checks the package against the registry's integrity hash.
#   bash .ci/axe.sh install
set -euo pipefail
VERSION=4.11.0
DIR="${AXE_DIR:-$HOME/.cache/vergleichsring-axe}"
JS="$DIR/node_modules/axe-core/axe.min.js"
case "${1:-install}" in
  install)
    if [ -f "$JS" ] && grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/axe-core/package.json"; then
      echo "axe-core $VERSION is installed"
      exit 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
      SUDO=""
      if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
      export DEBIAN_FRONTEND=noninteractive
      $SUDO apt-get install -y --no-install-recommends npm \
        || { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends npm; }
    fi
    mkdir -p "$DIR"
    npm install --prefix "$DIR" --no-audit --no-fund --silent "axe-core@$VERSION"
    test -f "$JS"
    echo "axe-core $VERSION installed in $DIR"
    ;;
  *)
    echo "usage: $0 install" >&2
    exit 2
    ;;
esac
