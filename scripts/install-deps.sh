#!/usr/bin/env bash
# Installs every Debian package that frugal's build and tests need. Idempotent:
# packages already present are skipped, so a second run does no network work.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config
  nlohmann-json3-dev libcli11-dev libpcre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev libopenblas-dev
  libcpp-httplib-dev curl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm run the server's end-to-end tests with real client
# libraries; a machine that already has them (from Debian or elsewhere)
# keeps its own.
if ! command -v node > /dev/null; then missing+=(nodejs); fi
if ! command -v npm > /dev/null; then missing+=(npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The client libraries of tests/clients, exactly as package-lock.json pins
# them; installed again only when the lock file changes.
clients="$(dirname "$0")/../tests/clients"
if ! cmp -s "$clients/package-lock.json" "$clients/node_modules/.frugal-installed-lock.json"; then
  echo "install-deps: npm ci in tests/clients"
  (cd "$clients" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$clients/package-lock.json" "$clients/node_modules/.frugal-installed-lock.json"
fi
