"""Every ctypes structure of python/calib8/_lib.py has the size and field offsets of its C definition: a
header change that the package does not mirror fails here rather than corrupting memory."""
import ctypes
import os
import subprocess
import tempfile
import unittest

from calib8 import _lib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Layout(unittest.TestCase):
    def test_structs_match_the_headers(self):
        lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "calib8/calib8.h"', 'int main(void) {']
        for cname, cls in _lib.STRUCTS.items():
            lines.append('  printf("%s %%zu\\n", sizeof(%s));' % (cname, cname))
            for field, _ in cls._fields_:
                lines.append('  printf("%s.%s %%zu\\n", offsetof(%s, %s));' % (cname, field, cname, field))
        lines += ['  return 0;', '}']
        with tempfile.TemporaryDirectory() as tmp:
            src, exe = os.path.join(tmp, "layout.c"), os.path.join(tmp, "layout")
            with open(src, "w") as f:
                f.write("\n".join(lines) + "\n")
            cc = os.environ.get("CC", "cc")
            subprocess.run([cc, "-std=c11", "-Wall", "-Werror", "-I", os.path.join(ROOT, "include"), src, "-o",
                            exe], check=True)
            out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
        c_layout = dict(line.rsplit(" ", 1) for line in out.splitlines())
        py_layout = {}
        for cname, cls in _lib.STRUCTS.items():
            py_layout[cname] = str(ctypes.sizeof(cls))
            for field, _ in cls._fields_:
                py_layout["%s.%s" % (cname, field)] = str(getattr(cls, field).offset)
        bad = ["%s: C %s, Python %s" % (k, c_layout[k], py_layout[k]) for k in c_layout if c_layout[k] != py_layout[k]]
        self.assertEqual(bad, [], "ctypes layouts differ from the headers")


if __name__ == "__main__":
    unittest.main()
