"""Bad input raises kstt.Error with the library's message (or TypeError/ValueError for
arguments of the wrong kind), and leaves the objects usable."""
import os

import numpy as np
import pytest

import kstt

from conftest import golden_dir


def test_missing_model_dir(tmp_path):
    with pytest.raises(kstt.Error) as e:
        kstt.Model(str(tmp_path / "nope") + "/")
    assert "no such model directory" in str(e.value)
    assert e.value.status == -9


def test_dir_without_config(tmp_path):
    with pytest.raises(kstt.Error, match="no config.json"):
        kstt.Model(str(tmp_path))


def test_library_message_for_broken_model(tmp_path, tiny_dir):
    """A model directory whose LM file is cut short: the loader's message comes through."""
    for name in os.listdir(tiny_dir):
        src = os.path.join(tiny_dir, name)
        data = open(src, "rb").read()
        if name == "model.safetensors":
            data = data[:1000]
        (tmp_path / name).write_bytes(data)
    with pytest.raises(kstt.Error) as e:
        kstt.Model(str(tmp_path))
    assert "model.safetensors" in str(e.value)
    assert e.value.status < 0


def test_bad_audio_file(tiny, tmp_path):
    p = tmp_path / "x.wav"
    p.write_bytes(b"RIFF1234WAVEnot really")
    with pytest.raises(kstt.Error, match="not an audio format"):
        tiny.transcribe(str(p))
    with pytest.raises(kstt.Error, match="no such file"):
        tiny.transcribe(str(tmp_path / "missing.wav"))


def test_feed_after_flush_is_a_library_error(tiny):
    with tiny.stream() as s:
        s.feed(np.zeros(1920, dtype=np.float32))
        s.flush()
        with pytest.raises(kstt.Error) as e:
            s.feed(np.zeros(1920, dtype=np.float32))
        assert e.value.status == -6  # KSTT_ESTATE
        assert str(e.value)  # the stream's message
        s.reset()
        s.feed(np.zeros(1920, dtype=np.float32))  # usable again


def test_wrong_kinds(tiny):
    with tiny.stream() as s:
        with pytest.raises(TypeError):
            s.feed(np.zeros(10, dtype=np.int32))
        with pytest.raises(ValueError):
            s.feed(np.zeros((10, 2), dtype=np.float32))
        with pytest.raises(ValueError):
            s.feed(b"\x00\x00\x00")
        with pytest.raises(TypeError):
            s.feed(42)
        assert s.feed(np.zeros(0, dtype=np.float32)) == []
    with pytest.raises(kstt.Error, match="closed"):
        s.feed(np.zeros(10, dtype=np.float32))
    with pytest.raises(ValueError):
        kstt.Model(os.path.join(golden_dir(), "stt_tiny"), kv="f8")


def test_not_a_repo_id():
    with pytest.raises(kstt.Error, match="neither a model directory nor"):
        kstt.Model("not a model")


def test_closing_the_model_closes_its_streams(tiny_dir):
    m = kstt.Model(tiny_dir, threads=1)
    s = m.stream()
    s.feed(np.zeros(4000, dtype=np.float32))
    m.close()
    with pytest.raises(kstt.Error, match="closed"):
        s.feed(np.zeros(10, dtype=np.float32))
    with pytest.raises(kstt.Error, match="closed"):
        m.stream()
    s.close()  # again: harmless
