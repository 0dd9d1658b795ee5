"""Checks one calib8 HTML report as headless Chromium rendered it (tests/browser/report.sh).

usage: check_report.py REPORT.html DOM.html CHROMIUM_STDERR SCREENSHOT.png KIND
KIND: quantize, compare, auto or sensitivity. Prints one line per failed check; exits 1 when one failed."""
import json
import re
import struct
import sys
import zlib

try:
    from PIL import Image
except ImportError:  # the screenshot is then read with zlib alone
    Image = None


def distinct_rows(path):
    """How many different pixel rows a PNG holds (zlib only): a blank page's rows are all the same."""
    b = open(path, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(b):
        n, t = struct.unpack(">I4s", b[pos:pos + 8])
        if t == b"IHDR":
            w, _, depth, ctype = struct.unpack(">IIBB", b[pos + 8:pos + 18])
            px = {0: 1, 2: 3, 4: 2, 6: 4}[ctype] * depth // 8
        elif t == b"IDAT":
            idat += b[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw, stride = zlib.decompress(idat), 1 + w * px
    return w, len({raw[i + 1:i + stride] for i in range(0, len(raw), stride)})

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
    expected = len(summary["tensors"]) if summary else len(compare["tensors"]) if compare else 0
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
    if kind in ("quantize", "auto"):
        # the summary's sizes and timings, the graph (one drawn node per node of the JSON), the predictions
        for label in ("QDQ model file", "weights INT8 (estimate)", "calibration time"):
            if f"<td>{label}</td>" not in dom:
                failed.append(f"the summary has no '{label}'")
        nodes = len(data.get("graph", {}).get("nodes", []))
        if nodes == 0 or 'class="graph-svg"' not in dom or len(re.findall(r'<g class="node ', dom)) != nodes:
            failed.append(f"the graph: {len(re.findall('<g class=.node ', dom))} nodes drawn of {nodes}")
        pred = data.get("predictions") or (summary or {}).get("predictions") or []
        if not pred:
            failed.append("no predictions in the JSON")
        elif len(re.findall(r'<tr class="prediction-row', dom)) != len(pred) or \
                len(re.findall(r'class="pred-svg"', dom)) != len(pred):
            failed.append(f"predictions: {len(re.findall('class=.prediction-row', dom))} rows drawn of {len(pred)}")
        else:
            if sum(1 for p in pred if "thumbnail" in p) != len(re.findall(r'<image ', dom)):
                failed.append("the thumbnails are not all drawn")
            n_boxes = sum(len(p.get(k, {}).get("boxes", [])) for p in pred for k in ("fp32", "int8"))
            n_boxes += sum(len(p.get("truth", [])) for p in pred)
            if n_boxes != len(re.findall(r'class="box"', dom)):
                failed.append(f"{len(re.findall('class=.box.', dom))} boxes drawn, the JSON has {n_boxes}")
    if kind == "sensitivity":
        n = len(data["sensitivity"]["layers"])
        if n == 0 or len(re.findall(r'<tr class="sensitivity-row', dom)) != n:
            failed.append(f"sensitivity: {len(re.findall('class=.sensitivity-row', dom))} rows of {n}")
        if len(re.findall(r'class="bar"', dom)) != n:
            failed.append("the sensitivity bars are missing")

for line in errs.splitlines():
    if "CONSOLE" in line:
        failed.append("console: " + line.strip())

try:
    if Image:
        img = Image.open(png_path).convert("RGB")
        colours = img.getcolors(maxcolors=1 << 20)
        if img.size[0] < 100 or colours is not None and len(colours) < 8:
            failed.append(f"the screenshot {png_path} is blank ({len(colours)} colours)")
    else:
        width, rows = distinct_rows(png_path)
        if width < 100 or rows < 20:
            failed.append(f"the screenshot {png_path} is blank ({rows} different rows)")
except Exception as e:  # noqa: BLE001 - any failure to read it is a failed check
    failed.append(f"the screenshot {png_path} cannot be read: {e}")

for f in failed:
    print(f"{kind}: {f}")
sys.exit(1 if failed else 0)
