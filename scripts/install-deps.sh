#!/usr/bin/env bash
# Installs the Debian 12 packages distillscan needs to build, test and benchmark.
# Idempotent; skips apt-get entirely when everything is present.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config git
      libsimdjson-dev libhyperscan-dev prometheus-cpp-dev libboost-dev
      libyaml-cpp-dev libcli11-dev zlib1g-dev libzstd-dev libisal-dev catch2
      gzip zstd ripgrep time curl jq python3 prometheus prometheus-alertmanager systemd logrotate
      librdkafka-dev kcat
      clang libclang-rt-14-dev)  # clang + libFuzzer/sanitizer runtimes: fuzz/run.sh
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} == 0 )); then
  echo "install-deps: all packages present"
  exit 0
fi
sudo=""
[[ $(id -u) != 0 ]] && sudo=sudo
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
