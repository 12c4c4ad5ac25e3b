#!/usr/bin/env bash
# The dashboard's browser test drives Debian's Chromium through playwright-core (which never
# downloads a browser). Installs the `chromium` package when it is missing; `npm test` runs this
# first (pretest) and so does .ci/run. CHROMIUM_PATH names another binary and skips the install.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$browser" ] && exit 0
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "chromium is missing: run 'apt-get install chromium' as root (the dashboard's browser test needs it)" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing Debian's chromium for the dashboard's browser test (apt-get install chromium)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q chromium >/dev/null || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; }
[ -x /usr/bin/chromium ]
