"""docs/api.md shows its examples verbatim (each `<!-- include: PATH -->` block equals the file), and the
Python example runs. (The C example, examples/c/quantize.c, is built and run by the `install` test.)
`test_docs.py --write` rewrites the blocks from the files."""
import os
import re
import subprocess
import sys
import tempfile
import unittest

from common import ROOT

DOC = os.path.join(ROOT, "docs", "api.md")
BLOCK = re.compile(r"(<!-- include: (\S+) -->\n```(\w*)\n)(.*?)(```\n)", re.S)


def blocks(text):
    return [(m.group(2), m.group(4)) for m in BLOCK.finditer(text)]


def write():
    with open(DOC) as f:
        text = f.read()

    def fill(m):
        if not os.path.exists(os.path.join(ROOT, m.group(2))):
            print("test_docs.py: %s does not exist; its block is left as it is" % m.group(2))
            return m.group(0)
        with open(os.path.join(ROOT, m.group(2))) as f:
            body = f.read()
        return m.group(1) + body + ("" if body.endswith("\n") else "\n") + m.group(5)
    text = BLOCK.sub(fill, text)
    with open(DOC, "w") as f:
        f.write(text)


class Docs(unittest.TestCase):
    def test_examples_are_verbatim(self):
        with open(DOC) as f:
            found = blocks(f.read())
        self.assertEqual(sorted(p for p, _ in found), ["examples/c/quantize.c", "examples/python/quantize.py"])
        for path, body in found:
            with open(os.path.join(ROOT, path)) as f:
                self.assertEqual(body, f.read(), "docs/api.md's copy of %s differs from the file "
                                 "(tests/python/test_docs.py --write updates it)" % path)

    def test_python_example_runs(self):
        try:
            import torch  # noqa: F401
            import PIL  # noqa: F401
        except ImportError as e:
            self.skipTest("the example needs python3-torch and python3-pil (%s)" % e)
        with tempfile.TemporaryDirectory(prefix="c8-doc-") as tmp:
            r = subprocess.run([sys.executable, "examples/python/quantize.py", tmp], cwd=ROOT, capture_output=True,
                               text=True, timeout=600)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("chose '", r.stdout)
            self.assertIn("refused: input 'input' has shape [1,1,32,32]", r.stdout)
            for name in ("lenet_int8.onnx", "lenet.table", "lenet_auto.onnx"):
                self.assertTrue(os.path.getsize(os.path.join(tmp, name)) > 0, name)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        unittest.main()
