#!/usr/bin/env bash
# Fault tests of the calib8 command line: bad models, bad inputs, bad arguments.
#
#   run-fault-tests.sh CALIB8_BINARY [FIXTURES_DIR]
#
# Every failure case must exit with a code from 1 to 125 (not a crash: no signal, no sanitizer abort), print
# nothing but one line on stderr, starting with "calib8: " and naming the file, node or value at fault.
# The fixtures come from make_fixtures.py and are committed, so no Python is needed here.
set -u

CALIB8=${1:?usage: run-fault-tests.sh CALIB8_BINARY [FIXTURES_DIR]}
FIX=${2:-$(cd "$(dirname "$0")" && pwd)/fixtures}
case $CALIB8 in /*) ;; *) CALIB8=$PWD/$CALIB8 ;; esac
[ -x "$CALIB8" ] || { echo "run-fault-tests: '$CALIB8' is not an executable" >&2; exit 2; }
[ -f "$FIX/identity.onnx" ] || { echo "run-fault-tests: no fixtures in '$FIX'" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/calib8-fault.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
OUT=$WORK/out
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# run_cli NAME ARGS...: runs calib8 with stdout/stderr captured in $WORK/{stdout,stderr}, sets $rc.
run_cli() {
  local name=$1
  shift
  (cd "$FIX" && "$CALIB8" "$@") >"$WORK/stdout" 2>"$WORK/stderr"
  rc=$?
}

# expect_error NAME NEEDLE1 [NEEDLE2 ...] -- ARGS...
# The error line must contain every needle (fixed strings); a needle "!TEXT" means TEXT must not appear.
expect_error() {
  local name=$1
  shift
  local needles=()
  while [ "$1" != "--" ]; do
    needles+=("$1")
    shift
  done
  shift
  run_cli "$name" "$@"
  local lines first
  lines=$(wc -l <"$WORK/stderr")
  first=$(head -n 1 "$WORK/stderr")
  if [ "$rc" -eq 0 ]; then
    fail "$name" "exit code 0, expected a failure (stderr: $first)"
    return
  fi
  if [ "$rc" -ge 126 ]; then
    fail "$name" "crashed: exit code $rc (signal $((rc - 128))); stderr: $(head -c 300 "$WORK/stderr")"
    return
  fi
  if grep -qE 'Sanitizer|runtime error:' "$WORK/stderr"; then
    fail "$name" "sanitizer report (exit $rc): $(grep -m1 -E 'SUMMARY|runtime error:' "$WORK/stderr")"
    return
  fi
  if [ "$lines" -ne 1 ] || [ "$(tail -c 1 "$WORK/stderr" | od -An -c | tr -d ' ')" != '\n' ]; then
    fail "$name" "stderr has $lines lines, expected exactly one: $(head -c 300 "$WORK/stderr" | tr '\n' '|')"
    return
  fi
  case $first in
    "calib8: "*) ;;
    *)
      fail "$name" "stderr does not start with 'calib8: ': $first"
      return
      ;;
  esac
  local n
  for n in "${needles[@]}"; do
    if [[ $n == '!'* ]]; then
      if [[ $first == *"${n#!}"* ]]; then
        fail "$name" "error mentions '${n#!}': $first"
        return
      fi
    elif [[ $first != *"$n"* ]]; then
      fail "$name" "error does not mention '$n': $first"
      return
    fi
  done
  pass "$name (exit $rc): $first"
}

# expect_ok NAME NEEDLE1 [NEEDLE2 ...] -- ARGS...: exit 0, empty stderr, stdout contains every needle (a
# needle may span lines as a regular expression is not used: each is a fixed string looked up in stdout).
expect_ok() {
  local name=$1
  shift
  local needles=()
  while [ "$1" != "--" ]; do
    needles+=("$1")
    shift
  done
  shift
  run_cli "$name" "$@"
  if [ "$rc" -ne 0 ]; then
    fail "$name" "exit code $rc: $(head -c 300 "$WORK/stderr")"
    return
  fi
  if [ -s "$WORK/stderr" ]; then
    fail "$name" "unexpected stderr (a sanitizer report?): $(head -c 300 "$WORK/stderr")"
    return
  fi
  local n
  for n in "${needles[@]}"; do
    if ! grep -qF -- "$n" "$WORK/stdout"; then
      fail "$name" "stdout does not contain '$n': $(tr '\n' '|' <"$WORK/stdout")"
      return
    fi
  done
  pass "$name"
}

# ---- models ----
expect_error "truncated model" "truncated.onnx" -- info truncated.onnx
expect_error "truncated model (run)" "truncated.onnx" -- run truncated.onnx -i x.npy -o "$OUT"
expect_error "corrupt model" "corrupt.onnx" -- info corrupt.onnx
expect_error "unknown operator" "unknown_op.onnx" "mystery_node" "FooBar" -- info unknown_op.onnx
expect_error "undefined tensor" "reads_ghost" "ghost" -- info undefined_input.onnx
expect_error "nonexistent model (info)" "/nonexistent/model.onnx" -- info /nonexistent/model.onnx
expect_error "nonexistent model (run)" "/nonexistent/model.onnx" -- run /nonexistent/model.onnx -i x.npy -o "$OUT"
# A folder opens with fopen() on Linux; reading it must fail as I/O, not as a huge allocation.
expect_error "model is a folder" "$FIX" "!out of memory" -- info "$FIX"

# ---- inputs ----
expect_error "unknown input name" "'nope'" -- run identity.onnx -i nope=x.npy -o "$OUT"
expect_error "missing input" "'b'" "missing" -- run two_inputs.onnx -i a=x.npy -o "$OUT"
expect_error "unnamed input, two-input model" "2 inputs" -- run two_inputs.onnx -i x.npy -o "$OUT"
expect_error "input given twice" "'x'" -- run identity.onnx -i x=x.npy -i x=x.npy -o "$OUT"
expect_error "wrong input shape" "'x'" "[2,4]" -- run identity.onnx -i x=x_wrongshape.npy -o "$OUT"
expect_error "wrong input dtype" "'x'" "int64" "float32" -- run identity.onnx -i x=x_int64.npy -o "$OUT"
expect_error "nonexistent input file" "missing.npy" -- run identity.onnx -i x=missing.npy -o "$OUT"

# ---- malformed .npy ----
expect_error "npy bad magic" "bad_magic.npy" -- run identity.onnx -i x=bad_magic.npy -o "$OUT"
expect_error "npy truncated data" "truncated_data.npy" -- run identity.onnx -i x=truncated_data.npy -o "$OUT"
expect_error "npy truncated header" "truncated_header.npy" -- run identity.onnx -i x=truncated_header.npy -o "$OUT"
expect_error "npy fortran order" "fortran.npy" "Fortran" -- run identity.onnx -i x=fortran.npy -o "$OUT"
expect_error "npy float64" "f8.npy" "<f8" -- run identity.onnx -i x=f8.npy -o "$OUT"
expect_error "npy complex64" "c8.npy" "<c8" -- run identity.onnx -i x=c8.npy -o "$OUT"
expect_error "npy is a model" "identity.onnx" -- run identity.onnx -i x=identity.onnx -o "$OUT"
expect_error "npy is a folder" "$FIX" "!out of memory" -- run identity.onnx -i x="$FIX" -o "$OUT"

# ---- output directory ----
# A path under a regular file cannot be created whatever the permissions (tests may run as root).
expect_error "output dir under a file" "x.npy/sub" -- run identity.onnx -i x=x.npy -o x.npy/sub
expect_error "output dir is a file" "x.npy" -- run identity.onnx -i x=x.npy -o x.npy
expect_ok "--sub-batch auto splits a batch of 2" "ran as 2 sub-batches of 1" "y float32 [2,3]" -- run identity.onnx -i x=x.npy -o "$OUT" --threads 1
expect_ok "--sub-batch off" "y float32 [2,3]" -- run identity.onnx -i x=x.npy -o "$OUT" --sub-batch off
expect_error "--sub-batch not a number" "--sub-batch" "'x'" -- run identity.onnx -i x=x.npy -o "$OUT" --sub-batch x
expect_error "--sub-batch 0" "--sub-batch" "'0'" -- run identity.onnx -i x=x.npy -o "$OUT" --sub-batch 0
expect_error "--sub-batch without a value" "--sub-batch" -- run identity.onnx -i x=x.npy -o "$OUT" --sub-batch
if [ -e "$FIX/x.npy/sub" ]; then fail "output dir under a file" "created $FIX/x.npy/sub"; fi

# ---- command line ----
run_cli "no arguments"
if [ "$rc" -ge 1 ] && [ "$rc" -le 125 ] && grep -q "^usage: calib8" "$WORK/stderr" && [ ! -s "$WORK/stdout" ]; then
  pass "no arguments (exit $rc): usage on stderr"
else
  fail "no arguments" "exit $rc, expected the usage on stderr and a failure code: $(head -c 200 "$WORK/stderr")"
fi
expect_error "unknown command" "frobnicate" -- frobnicate
expect_error "unknown option (run)" "--bogus" -- run identity.onnx -i x=x.npy -o "$OUT" --bogus
expect_error "unknown option (info)" "--bogus" -- info identity.onnx --bogus
expect_error "--threads abc" "--threads" "abc" -- run identity.onnx -i x=x.npy -o "$OUT" --threads abc
expect_error "--threads 0" "--threads" "'0'" -- run identity.onnx -i x=x.npy -o "$OUT" --threads 0
expect_error "--threads without a value" "--threads" -- run identity.onnx -i x=x.npy -o "$OUT" --threads
expect_error "--repeat -1" "--repeat" "'-1'" -- run identity.onnx -i x=x.npy -o "$OUT" --repeat -1
expect_error "run without -o" "usage" -- run identity.onnx -i x=x.npy
expect_error "run without -i on a model with an input" "give each with -i" -- run identity.onnx -o "$OUT"
expect_error "info without a model" "usage" -- info

# ---- commands that work ----
expect_ok "--version" "calib8 0.1" -- --version
expect_ok "--help" "usage: calib8" "info MODEL" "run MODEL" -- --help
# `calib8 info` of info.onnx: 2 Identity + 1 Constant, 10 parameters (w: 2x3, Constant: 4).
expect_ok "info" "opset: 13" "inputs:" "outputs:" "float32" "[N, 3]" "[2, 3]" "operators: 3 nodes" \
  "parameters: 10" -- info info.onnx
if [ "$rc" -eq 0 ]; then
  # The histogram lines: "  Identity   2" and "  Constant   1", in that order (most frequent first).
  if grep -qE '^ +Identity +2$' "$WORK/stdout" && grep -qE '^ +Constant +1$' "$WORK/stdout" &&
    [ "$(grep -nE '^ +Identity +2$' "$WORK/stdout" | cut -d: -f1)" -lt \
      "$(grep -nE '^ +Constant +1$' "$WORK/stdout" | cut -d: -f1)" ]; then
    pass "info operator histogram"
  else
    fail "info operator histogram" "expected 'Identity 2' then 'Constant 1': $(tr '\n' '|' <"$WORK/stdout")"
  fi
  if grep -qE '^ +x +float32 +\[N, 3\]$' "$WORK/stdout" && grep -qE '^ +c +float32 +\[4\]$' "$WORK/stdout"; then
    pass "info inputs and outputs"
  else
    fail "info inputs and outputs" "expected 'x float32 [N, 3]' and 'c float32 [4]': $(tr '\n' '|' <"$WORK/stdout")"
  fi
fi
expect_ok "run identity" "output y float32 [2,3]" -- run identity.onnx -i x=x.npy -o "$OUT"
if [ "$rc" -eq 0 ]; then
  # The .npy calib8 writes holds the input's 24 data bytes unchanged at its end.
  if [ -f "$OUT/y.npy" ] && cmp -s <(tail -c 24 "$OUT/y.npy") <(tail -c 24 "$FIX/x.npy"); then
    pass "run identity output data"
  else
    fail "run identity output data" "$OUT/y.npy missing or different from x.npy"
  fi
  if ls "$OUT" | grep -q '\.tmp'; then fail "run leaves no temporary files" "$(ls "$OUT")"; else
    pass "run leaves no temporary files"
  fi
fi

# ---- issue 15: inputs that crashed calib8, cost it time and memory for nothing, or were taken as data ----
REPO=$(cd "$(dirname "$0")/../.." && pwd)
LENET=$REPO/models/fmnist_lenet.onnx
PPL='mean_value=72.94,std_value=90.0'
expect_error "subgraphs nested 3000 deep (stack overflow in protobuf-c)" "r15_deep_if.onnx" "nest more than 100" -- \
  info r15_deep_if.onnx
expect_error "Identity without outputs (NULL dereference in folding)" "'dead'" "no outputs" -- \
  info r15_identity_no_output.onnx
# (the checks below time the refusal: the old code took 6.6 s and 8 s, 15-20 s under sanitizers; 4 s leaves room for
# a loaded machine and a sanitizer build)
t0=$(date +%s%N)
expect_error "1e9 elements declared, 16 bytes present" "'big'" "raw_data holds 16 bytes" -- info r15_huge_claim.onnx
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $ms -lt 4000 ]; then pass "huge claim refused before allocating (${ms} ms)"; else
  fail "huge claim refused before allocating" "took ${ms} ms"; fi
expect_ok "a graph with no nodes runs (no memcpy from NULL)" "output x float32 [2,3]" -- \
  run r15_no_nodes.onnx -i x.npy -o "$OUT"
expect_error "graph input declared twice" "'x'" "declared twice" -- info r15_dup_input.onnx
expect_error "Conv without weights before BatchNormalization (BN folding read past its inputs)" "weightless" -- \
  run r15_conv_no_weight_bn.onnx -i x.npy -o "$OUT"
expect_error "graph output declared twice (leaked its dimension names)" "'y'" "output" "declared twice" -- \
  info r15_dup_output.onnx
expect_error "graph output nothing produces" "'z'" "not produced" -- run r15_dangling_output.onnx -i x.npy -o "$WORK/dangling"
if [ -e "$WORK/dangling/y.npy" ]; then fail "dangling output leaves nothing" "y.npy was written"; else
  pass "dangling output leaves nothing"; fi
expect_error "node writing a graph input (was called a cycle)" "'writer'" "graph input" "!cycle" -- \
  info r15_writes_input.onnx
expect_error "npz entry with a .npy header length of 0 (heap overflow)" "r15_npz_hl0.npz" "header length" -- \
  quantize identity.onnx --calib r15_npz_hl0.npz -o "$OUT/q.onnx"
expect_error "non-zip .npz (was read as a list of images)" "r15_not_zip.npz" "zip" -- \
  quantize identity.onnx --calib r15_not_zip.npz -o "$OUT/q.onnx"
expect_error "LMDB cut to a third (SIGBUS)" "r15_lmdb_truncated" "truncated" -- \
  quantize identity.onnx --calib r15_lmdb_truncated -o "$OUT/q.onnx"
expect_error "LMDB meta page with page size 0 (SIGFPE in liblmdb)" "r15_lmdb_psize0" "page size 0" -- \
  quantize identity.onnx --calib r15_lmdb_psize0 -o "$OUT/q.onnx"
expect_error "LMDB root page past the end of the file (SIGBUS in liblmdb)" "r15_lmdb_bad_root" "outside the file" -- \
  quantize identity.onnx --calib r15_lmdb_bad_root -o "$OUT/q.onnx"
expect_error "resize_side=65536 on a 40000x1 image (float-to-int overflow)" "r15_wide.png" "resize_side=65536" -- \
  quantize "$LENET" --calib r15_wide.png -p 'resize_side=65536' -o "$OUT/q.onnx"
t0=$(date +%s%N)
expect_error "334-byte JPEG declaring 16384x16384" "r15_huge.jpg" "16384x16384" -- \
  quantize "$LENET" --calib r15_huge.jpg -p "resize_h=28,resize_w=28;$PPL" -o "$OUT/q.onnx"
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $ms -lt 4000 ]; then pass "huge JPEG refused before decoding (${ms} ms)"; else
  fail "huge JPEG refused before decoding" "took ${ms} ms"; fi
expect_error "JPEG cut at 30 % of its scan and closed with EOI (was gray-filled)" "cut.jpg" "JPEG" -- \
  quantize "$LENET" --calib r15_cut_jpeg -p "$PPL" -o "$OUT/q.onnx"
expect_error "NaN in calibration data (was skipped, every scale 1.0)" "'x'" "non-finite" "sample 2" -- \
  quantize identity.onnx --calib r15_nan.npy -o "$OUT/q.onnx"
expect_error "std_value=1e-44 makes every input infinite" "non-finite" -- \
  quantize "$LENET" --calib "$REPO/examples/fmnist" -p 'mean_value=72.94,std_value=1e-44' --limit 4 -o "$OUT/q.onnx"
expect_error "scale=0 maps every pixel to one value" "scale=0" -- \
  quantize "$LENET" --calib "$REPO/examples/fmnist" -p 'scale=0' -o "$OUT/q.onnx"
expect_error "outputs 'y/1' and 'y_1' map to one file name (the second overwrote the first)" "'y/1'" "'y_1'" "y_1.npy" -- \
  run r15_colliding_outputs.onnx -i x.npy -o "$WORK/collide"
if [ -n "$(ls "$WORK/collide" 2>/dev/null)" ]; then fail "colliding outputs write nothing" "$(ls "$WORK/collide")"; else
  pass "colliding outputs write nothing"; fi
# the rollback must not delete the user's earlier outputs: an older model and table stay when the JSON cannot be written
mkdir -p "$WORK/old" && echo "older model" >"$WORK/old/q.onnx" && echo "older table" >"$WORK/old/t.table"
expect_error "an unwritable --json leaves the earlier outputs as they were" "json" -- \
  quantize "$LENET" --calib "$REPO/examples/fmnist" -p "$PPL" --limit 8 -o "$WORK/old/q.onnx" --table "$WORK/old/t.table" \
  --json /proc/c8-cannot.json
if [ "$(cat "$WORK/old/q.onnx")" = "older model" ] && [ "$(cat "$WORK/old/t.table")" = "older table" ] &&
  [ "$(ls -A "$WORK/old" | wc -l)" = 2 ]; then pass "earlier outputs intact, no temporaries"; else
  fail "earlier outputs intact, no temporaries" "$(ls -A "$WORK/old")"; fi
# the file size limit (ulimit -f): an error, not death by SIGXFSZ, and the earlier outputs stay
echo "older model" >"$WORK/old/q.onnx"
(cd "$FIX" && ulimit -f 8 && "$CALIB8" quantize "$LENET" --calib "$REPO/examples/fmnist" -p "$PPL" --limit 8 \
  -o "$WORK/old/q.onnx" --table "$WORK/old/t.table") >"$WORK/stdout" 2>"$WORK/stderr"
rc=$?
if [ $rc -ge 1 ] && [ $rc -le 125 ] && [ "$(cat "$WORK/old/q.onnx")" = "older model" ] &&
  [ "$(cat "$WORK/old/t.table")" = "older table" ] && [ "$(ls -A "$WORK/old" | wc -l)" = 2 ] &&
  [ "$(wc -l <"$WORK/stderr")" = 1 ]; then pass "ulimit -f: one-line error (rc $rc), earlier outputs intact"; else
  fail "ulimit -f" "rc $rc, $(head -c 200 "$WORK/stderr"), left: $(ls -A "$WORK/old")"; fi
if ls "$OUT" 2>/dev/null | grep -q 'q.onnx'; then fail "failed quantizations leave no model" "$(ls "$OUT")"; else
  pass "failed quantizations leave no model"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
