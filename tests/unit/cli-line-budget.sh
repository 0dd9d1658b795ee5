#!/bin/sh
# Issue 11 ("calib8 as a library ... a thin CLI"): the calib8 command only parses and prints, so tools/cli stays
# within 40 % of the 3,511 lines it had when the issue was filed (commit 7f691d8): at most 1,404 lines, counted as
# `wc -l tools/cli/*.c tools/cli/*.h`. Run from the source root. Logic that would push it over belongs behind
# include/calib8/ (docs/api.md).
budget=1404
n=$(cat tools/cli/*.c tools/cli/*.h | wc -l)
if [ "$n" -eq 0 ]; then
  echo "FAIL no tools/cli sources found from $(pwd)"
  exit 1
fi
if [ "$n" -gt "$budget" ]; then
  echo "FAIL tools/cli has $n lines, over its budget of $budget (40 % of 3,511): move logic into the library"
  exit 1
fi
echo "ok   tools/cli has $n lines (budget $budget)"
