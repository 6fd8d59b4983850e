"""Paths for the tests, from the same environment ctest gives the C tests: KSTT_SOURCE_DIR (the
tree), KSTT_GOLDEN_DIR (golden vectors, default ../shared/golden beside the tree), KSTT_BIN (the
kstt tool) and KSTT_BUILD_DIR (for the layout printer). Missing inputs fail the tests that need
them (they are not skipped)."""
import json
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def source_dir():
    return os.environ.get("KSTT_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", "..",
                                                                              ".."))


def golden_dir():
    d = os.environ.get("KSTT_GOLDEN_DIR") or os.path.join(source_dir(), "..", "shared", "golden")
    if not os.path.isdir(d):
        pytest.fail("golden vectors not found at %s (set KSTT_GOLDEN_DIR)" % d)
    return d


def build_dir():
    return os.environ.get("KSTT_BUILD_DIR") or os.path.join(source_dir(), "build")


def kstt_bin():
    b = os.environ.get("KSTT_BIN") or os.path.join(build_dir(), "kstt")
    if not os.access(b, os.X_OK):
        pytest.fail("the kstt tool is not at %s (set KSTT_BIN)" % b)
    return b


def cli_words(model, audio, *opts):
    """`kstt transcribe --format json [opts]` of one file: [(word, start, end)]."""
    r = subprocess.run([kstt_bin(), "transcribe", "--quiet", "--format", "json", "--model", model,
                        *opts, audio], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert r.returncode == 0, r.stderr.decode()
    doc = json.loads(r.stdout.decode("utf-8"))
    return [(w["word"], w["start"], w["end"]) for w in doc["words"]]


@pytest.fixture(scope="session")
def tiny_dir():
    return os.path.join(golden_dir(), "stt_tiny")


@pytest.fixture(scope="session")
def demo_dir():
    d = os.path.join(source_dir(), "models", "kstt-demo-en")
    if not os.path.isdir(d):
        pytest.fail("demo model not found at %s" % d)
    return d


@pytest.fixture(scope="session")
def tiny(tiny_dir):
    import kstt
    return kstt.Model(tiny_dir, threads=2)


@pytest.fixture(scope="session")
def demo(demo_dir):
    import kstt
    return kstt.Model(demo_dir, threads=2)


@pytest.fixture(scope="session")
def bria():
    """The golden English clip, 240000 float32 samples (numpy)."""
    import numpy as np
    return np.fromfile(os.path.join(golden_dir(), "bria_10s_24k.f32"), dtype="<f4")
