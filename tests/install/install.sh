#!/bin/sh
# cmake --install into a temporary prefix, then build examples/c/quantize.c against the installed calib8 with
# pkg-config, shared and static, and check that it writes the bytes the installed `calib8 quantize` writes.
# Also: the soname, the exported symbols (calib8_* only, every function the headers declare).
# Usage: install.sh BUILD_DIR   (from the repository root)
set -u
B=$1
TMP=$(mktemp -d /tmp/c8-install-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
P=$TMP/prefix
fail=0
ok() { echo "ok   $1"; }
bad() { fail=1; echo "FAIL $1"; }

cmake --install "$B" --prefix "$P" >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; echo "FAIL cmake --install"; exit 1; }
LIBDIR=$(dirname "$(find "$P" -name calib8.pc)")/..
LIBDIR=$(cd "$LIBDIR" && pwd)
missing=
for f in include/calib8/calib8.h include/calib8/dataset.h include/calib8/calibration.h include/calib8/plan.h \
         include/calib8/evaluate.h include/calib8/search.h bin/calib8; do
  [ -f "$P/$f" ] || missing="$missing $f"
done
for f in libcalib8.a libcalib8.so libcalib8.so.0 libcalib8.so.0.1.0 pkgconfig/calib8.pc; do
  [ -e "$LIBDIR/$f" ] || missing="$missing lib/$f"
done
[ -z "$missing" ] && ok "installed headers, libraries, calib8, calib8.pc" || bad "not installed:$missing"

soname=$(objdump -p "$LIBDIR/libcalib8.so.0.1.0" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = libcalib8.so.0 ] && ok "soname libcalib8.so.0" || bad "soname is '$soname', not libcalib8.so.0"

nm -D --defined-only "$LIBDIR/libcalib8.so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u >"$TMP/exported"
others=$(grep -v '^calib8_' "$TMP/exported" | grep -v '^CALIB8_0$' | head -5 | tr '\n' ' ')
[ -z "$others" ] && ok "libcalib8.so exports calib8_* only ($(wc -l <"$TMP/exported") symbols)" \
  || bad "libcalib8.so exports non-API symbols: $others"
# every function the public headers declare is in the library
# every function the public headers declare is in the library (declarations read after the preprocessor)
echo '#include "calib8/calib8.h"' | ${CC:-cc} -E -P -I "$P/include" - | grep -o '\bcalib8_[a-z0-9_]* *([^*]' \
  | grep -o 'calib8_[a-z0-9_]*' | sort -u >"$TMP/declared"
absent=$(comm -23 "$TMP/declared" "$TMP/exported" | tr '\n' ' ')
[ -z "$absent" ] && ok "every function the headers declare is exported ($(wc -l <"$TMP/declared"))" \
  || bad "declared in include/calib8 but not in libcalib8.so: $absent"

EX=examples/c/quantize.c
MODEL=examples/fmnist/fmnist_lenet.onnx
PP='mean_value=72.94,std_value=90.0'
if [ ! -f "$EX" ]; then
  bad "$EX is missing (expected: quantize MODEL CALIB_DIR PREPROCESS OUT.onnx)"
  exit 1
fi
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
CC=${CC:-cc}
if $CC -std=c11 -Wall -Wextra -Werror "$EX" -o "$TMP/quantize-shared" $(pkg-config --cflags --libs calib8) \
     -Wl,-rpath,"$LIBDIR" 2>"$TMP/cc.log"; then
  ok "examples/c/quantize.c builds with pkg-config --cflags --libs calib8 (shared)"
else
  bad "shared build of $EX: $(cat "$TMP/cc.log")"
fi
# static: the archive by name, and the private dependencies pkg-config --static lists
if $CC -std=c11 -Wall -Wextra -Werror "$EX" -o "$TMP/quantize-static" $(pkg-config --cflags calib8) \
     $(pkg-config --static --libs calib8 | sed 's/-lcalib8\b/-l:libcalib8.a/') 2>"$TMP/cc.log"; then
  ok "examples/c/quantize.c builds with pkg-config --static (libcalib8.a)"
else
  bad "static build of $EX: $(cat "$TMP/cc.log")"
fi
ldd "$TMP/quantize-shared" 2>/dev/null | grep -q "$LIBDIR/libcalib8.so.0" && ok "the shared build loads the installed libcalib8.so.0" \
  || bad "the shared build does not load $LIBDIR/libcalib8.so.0: $(ldd "$TMP/quantize-shared" 2>&1 | grep calib8)"
ldd "$TMP/quantize-static" 2>/dev/null | grep -q libcalib8 && bad "the static build loads libcalib8.so" || true

"$P/bin/calib8" quantize "$MODEL" --calib examples/fmnist -p "$PP" -o "$TMP/cli.onnx" >"$TMP/cli.log" 2>&1 \
  && ok "the installed calib8 quantizes" || bad "installed calib8 quantize: $(cat "$TMP/cli.log")"
for kind in shared static; do
  [ -x "$TMP/quantize-$kind" ] || continue
  if "$TMP/quantize-$kind" "$MODEL" examples/fmnist "$PP" "$TMP/$kind.onnx" >"$TMP/$kind.log" 2>&1 \
     && cmp -s "$TMP/$kind.onnx" "$TMP/cli.onnx"; then
    ok "examples/c/quantize.c ($kind) writes the bytes calib8 quantize writes"
  else
    bad "examples/c/quantize.c ($kind): $(cat "$TMP/$kind.log") $(cmp "$TMP/$kind.onnx" "$TMP/cli.onnx" 2>&1)"
  fi
done
exit $fail
