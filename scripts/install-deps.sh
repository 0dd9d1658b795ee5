#!/usr/bin/env bash
# Installs every Debian package calib8's build, tests and dev tools need.
# Idempotent: packages already present are skipped by apt-get.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=(
  build-essential cmake pkg-config git
  clang libclang-rt-14-dev  # the sanitizer build and the libFuzzer harnesses (scripts/fuzz.sh)
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev
  libjpeg-dev libpng-dev liblmdb-dev libcjson-dev libmicrohttpd-dev libzip-dev zlib1g-dev
  python3 python3-numpy python3-onnx python3-pil python3-lmdb fonts-dejavu-core
  dataset-fashion-mnist libonnx-testdata
  python3-torch
  time  # /usr/bin/time: bench/run.sh measures peak RSS and CPU time with it
  chromium  # tests/browser: the HTML report (--report) loaded in headless Chromium
)
# Node.js and npm drive ONNX Runtime (the reference peer); use the machine's own if present.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
