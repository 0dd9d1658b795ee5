#!/bin/sh
# calib8 compare TARGET.npz REFERENCE.npz (TPU-MLIR's npz_tool compare) end to end through the CLI, on .npz
# dumps written here with Python's zipfile (no numpy): a dump against itself passes (exit 0); a noisy tensor
# below --tolerance fails it (exit 3) and names it; --except skips it; names in one file only are listed; a
# tolerance the noisy tensor meets passes; bad requests give one line and exit 2.
# Usage: npz.sh path/to/calib8   (run from the repository root)
HARNESS_NAME=npz
. tests/harness.sh

$PY - "$TMP" <<'PYEOF' || bad "writing the .npz fixtures"
import io, math, struct, sys, zipfile
def npy(vals, shape):
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % ''.join('%d,' % d for d in shape)
    hdr += ' ' * ((64 - (10 + len(hdr) + 1) % 64) % 64) + '\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode() + struct.pack('<%df' % len(vals), *vals)
def save(path, tensors):
    with zipfile.ZipFile(path, 'w') as z:
        for name, (vals, shape) in tensors.items():
            z.writestr(name + '.npy', npy(vals, shape))
a = [math.sin(i * 0.37) * 3 + 0.5 for i in range(64)]
b = [x * 0.5 for x in a]
noisy = [x + 0.3 * math.cos(i * 1.7) for i, x in enumerate(b)]
save(sys.argv[1] + '/ref.npz', {'input': (a, [1, 64]), 'conv1': (b, [1, 4, 4, 4]), 'ref_only': (a, [64])})
save(sys.argv[1] + '/target.npz', {'input': (a, [1, 64]), 'conv1': (noisy, [1, 4, 4, 4]), 'extra': (a, [64])})
PYEOF
T=$TMP/target.npz
R=$TMP/ref.npz

out=$("$C8" compare "$R" "$R" 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "^3 compared (tolerance: cosine 0.99, euclidean 0.99)" &&
   echo "$out" | grep -q "^3 passed: 3 equal" && echo "$out" | tail -1 | grep -qx "npz compare PASSED"; then
  ok "a dump against itself: 3 equal, exit 0"; else bad "self: rc=$rc $out"; fi

out=$("$C8" compare "$T" "$R" 2>&1); rc=$?
if [ $rc -eq 3 ] && echo "$out" | grep -Eq "^conv1 +NOT_SIMILAR +FAILED +0\.9[0-8]" &&
   echo "$out" | grep -Eq "^input +EQUAL +PASSED" &&
   echo "$out" | grep -q "1 tensor only in '$T': extra" && echo "$out" | grep -q "1 tensor only in '$R': ref_only" &&
   echo "$out" | tail -1 | grep -qx "npz compare FAILED"; then
  ok "a noisy tensor below the default tolerance: named, exit 3; names in one file only listed"
else bad "noisy: rc=$rc $out"; fi

out=$("$C8" compare "$T" "$R" --except conv1 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "^1 excepted from comparing" && ! echo "$out" | grep -q "^conv1"; then
  ok "--except conv1: skipped, exit 0"; else bad "--except: rc=$rc $out"; fi

out=$("$C8" compare "$T" "$R" --tolerance 0.9,0.5 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -Eq "^conv1 +SIMILAR +PASSED"; then
  ok "--tolerance 0.9,0.5: the noisy tensor is similar enough, exit 0"; else bad "--tolerance: rc=$rc $out"; fi

out=$("$C8" compare "$T" "$R" --except nosuch 2>&1); rc=$?
if [ $rc -eq 2 ] && one_line "$out" && echo "$out" | grep -q "excepted tensor 'nosuch' is in neither"; then
  ok "an unknown --except name: one line, exit 2"; else bad "unknown except: rc=$rc $out"; fi

out=$("$C8" compare "$T" "$R" --limit 3 2>&1); rc=$?
if [ $rc -eq 2 ] && one_line "$out" && echo "$out" | grep -q "apply to comparing two models"; then
  ok "a model option on two .npz files: one line, exit 2"; else bad "model option: rc=$rc $out"; fi

out=$("$C8" compare models/fmnist_lenet.onnx models/fmnist_lenet.onnx --data "$R" --except x 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | head -1 | grep -q "\-\-except applies to comparing two .npz files"; then
  ok "--except on two models: refused, exit 2"; else bad "--except on models: rc=$rc $out"; fi

echo "not a zip" >"$TMP/bad.npz"
out=$("$C8" compare "$TMP/bad.npz" "$R" 2>&1); rc=$?
if [ $rc -eq 2 ] && one_line "$out" && echo "$out" | grep -q "bad.npz' is not a readable .npz"; then
  ok "a file that is not an .npz: one line naming it, exit 2"; else bad "bad npz: rc=$rc $out"; fi
finish
