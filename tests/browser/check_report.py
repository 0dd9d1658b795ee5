"""Checks one calib8 HTML report as headless Chromium rendered it (tests/browser/report.sh).

usage: check_report.py REPORT.html DOM.html CHROMIUM_STDERR SCREENSHOT.png KIND
KIND: quantize, compare or auto. Prints one line per failed check; exits 1 when one failed."""
import json
import re
import sys

from PIL import Image

html_path, dom_path, err_path, png_path, kind = sys.argv[1:6]
html = open(html_path, encoding="utf-8").read()
dom = open(dom_path, encoding="utf-8").read()
errs = open(err_path, encoding="utf-8", errors="replace").read()
failed = []

m = re.search(r'<script type="application/json" id="calib8-data">(.*?)</script>', html, re.S)
data = json.loads(m.group(1)) if m else None
if data is None:
    failed.append("no embedded JSON document")
else:
    summary, compare = data.get("summary"), data.get("compare")
    expected = len(summary["tensors"]) if summary else len(compare["tensors"])
    rows = len(re.findall(r'<tr class="layer-row', dom))
    if rows != expected:
        failed.append(f"{rows} layer rows, the JSON has {expected} quantized tensors")
    if 'data-rendered="%d"' % expected not in dom:
        failed.append("the page script did not finish (no data-rendered)")
    if "data-error=" in dom:
        failed.append("a script error: " + re.search(r'data-error="([^"]*)"', dom).group(1))
    if kind in ("quantize", "auto"):
        n_hist = len(data["histograms"])
        if n_hist == 0 or len(re.findall(r'class="hist-svg"', dom)) != n_hist:
            failed.append(f"histograms: {len(re.findall('class=.hist-svg.', dom))} drawn of {n_hist}")
        if 'class="chosen"' not in dom:
            failed.append("no chosen threshold drawn")
    if kind == "auto":
        if 'class="search-svg"' not in dom or 'class="budget"' not in dom or "trial chosen" not in dom:
            failed.append("the search plot (svg, budget line, chosen trial) is missing")
        if len(re.findall(r'<tr class="trial-row', dom)) != len(summary["trials"]):
            failed.append("the trial table does not list every trial")
    if kind == "compare" and len(re.findall(r'class="bar"', dom)) != 2 * expected:
        failed.append("the similarity bars are missing")

for line in errs.splitlines():
    if "CONSOLE" in line:
        failed.append("console: " + line.strip())

try:
    img = Image.open(png_path).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 20)
    if img.size[0] < 100 or colours is not None and len(colours) < 8:
        failed.append(f"the screenshot {png_path} is blank ({len(colours)} colours)")
except Exception as e:  # noqa: BLE001 - any failure to read it is a failed check
    failed.append(f"the screenshot {png_path} cannot be read: {e}")

for f in failed:
    print(f"{kind}: {f}")
sys.exit(1 if failed else 0)
