#!/usr/bin/env sh
# Installs Prometheus (Debian's package: prometheus and promtool) when it is not on PATH, for the
# tests that run a real Prometheus. Prints the path of the prometheus binary.
set -eu
if ! command -v prometheus >/dev/null 2>&1; then
  SUDO=''
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "ensure-prometheus: prometheus is missing and installing it needs root (or sudo)" >&2; exit 1; }
    SUDO='sudo -n'
  fi
  # Quiet: the tests show this output only when it fails.
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >&2
fi
command -v prometheus
