"""The ctypes structures of kstt._lib against the C header: sizeof/alignment of each struct and
offset/size of each field as a C program built with the library prints them."""
import ctypes
import os
import subprocess

import pytest

import kstt._lib as c

from conftest import build_dir


def layout_lines():
    exe = os.environ.get("KSTT_LAYOUT_BIN") or os.path.join(build_dir(), "tests", "kstt_layout")
    if not os.access(exe, os.X_OK):
        pytest.fail("layout printer not found at %s (build target kstt_layout, or set "
                    "KSTT_LAYOUT_BIN)" % exe)
    out = subprocess.run([exe], stdout=subprocess.PIPE, check=True).stdout.decode()
    return [line.split() for line in out.splitlines()]


def test_struct_layouts_match_header():
    seen = set()
    checked = 0
    for parts in layout_lines():
        name = parts[0]
        if name == "enum":
            assert int(parts[2]) == ctypes.sizeof(ctypes.c_int)
            continue
        if "." in name:
            sname, fname = name.split(".")
            cls = c.STRUCTS[sname]
            fld = getattr(cls, fname)
            assert (fld.offset, fld.size) == (int(parts[2]), int(parts[4])), name
            seen.add(name)
        else:
            cls = c.STRUCTS[name]
            assert ctypes.sizeof(cls) == int(parts[2]), name
            assert ctypes.alignment(cls) == int(parts[4]), name
        checked += 1
    # every ctypes field is covered by the C side
    for sname, cls in c.STRUCTS.items():
        for fname, _ in cls._fields_:
            assert "%s.%s" % (sname, fname) in seen, "%s.%s not printed by the C side" % (
                sname, fname)
    assert checked > 30
