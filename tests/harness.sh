# The shell test harness (sourced; POSIX sh), shared by the end-to-end tests under tests/. Run from the repository
# root, with the calib8 binary as $1; set HARNESS_NAME first (it names the temporary folder).
# Sets C8, PY (Debian's python3), TMP (a fresh folder, removed at exit) and pass/fail counts, with:
#   ok NAME / bad NAME      count and print a passing / failing check
#   check NAME COMMAND...   ok when the command succeeds, else bad
#   one_line TEXT           true when TEXT is a single line (errors are one sentence)
#   json FILE KEY           prints a top-level JSON value
#   finish                  prints the counts and exits non-zero when a check failed
#   skip REASON             exits 77 (CTest's SKIP_RETURN_CODE)
set -u
C8=$1
PY=/usr/bin/python3
TMP=$(mktemp -d "/tmp/c8-${HARNESS_NAME:-test}-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1" >&2; }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }
check() {
  name=$1
  shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}
one_line() { [ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ]; }
json() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
finish() {
  echo "$pass passed, $fail failed" >&2
  [ $fail -eq 0 ]
  exit $?
}
skip() {
  echo "SKIP: $1" >&2
  exit 77
}
