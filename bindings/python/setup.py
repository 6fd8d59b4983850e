"""Build hook: bundles libkstt into the package (kstt/_native/) when a built library is found,
so `pip install ./bindings/python` after building the tree gives a self-contained package.

Where the library comes from (first found): $KSTT_LIBRARY (a path to libkstt.so),
$KSTT_BUILD_DIR/libkstt.so, the tree's default build directory (../../build/libkstt.so). With
none, nothing is bundled and the package uses the system's libkstt (`cmake --install`) or
$KSTT_LIBRARY at run time.
"""
import glob
import os
import shutil
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
LIBNAME = "libkstt.dylib" if sys.platform == "darwin" else "libkstt.so"


def find_library():
    env = os.environ.get("KSTT_LIBRARY")
    if env:
        if not os.path.isfile(env):
            sys.exit("KSTT_LIBRARY=%s: no such file" % env)
        return env
    dirs = []
    if os.environ.get("KSTT_BUILD_DIR"):
        dirs.append(os.environ["KSTT_BUILD_DIR"])
    dirs.append(os.path.join(HERE, "..", "..", "build"))
    for d in dirs:
        p = os.path.join(d, LIBNAME)
        if os.path.isfile(p):
            return p
    return None


LIBRARY = find_library()


class BuildPy(build_py):
    def run(self):
        super().run()
        native = os.path.join(self.build_lib, "kstt", "_native")
        for old in glob.glob(os.path.join(native, "libkstt*")):
            os.remove(old)
        if LIBRARY:
            os.makedirs(native, exist_ok=True)
            # the real file (not the symlink chain), under the name the package loads
            shutil.copyfile(os.path.realpath(LIBRARY), os.path.join(native, LIBNAME))
            print("kstt: bundling %s" % os.path.realpath(LIBRARY))
        else:
            print("kstt: no built libkstt found (set KSTT_BUILD_DIR or KSTT_LIBRARY); the "
                  "package will use the system's libkstt")


class BinaryDistribution(Distribution):
    """A bundled native library makes the wheel platform-specific."""

    def has_ext_modules(self):
        return LIBRARY is not None


setup(cmdclass={"build_py": BuildPy}, distclass=BinaryDistribution)
