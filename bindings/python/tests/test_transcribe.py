"""Whole-file transcription equals the kstt tool's (`kstt transcribe --format json`, times printed
to 2 decimals) on the golden tiny model and the trained demo model, from files and arrays."""
import array
import os
import subprocess
import sys

import numpy as np

import kstt

from conftest import cli_words, golden_dir, source_dir


def same_words(got, want):
    assert [w.text for w in got] == [w for w, _, _ in want]
    for g, (text, start, end) in zip(got, want):
        assert abs(g.start - start) < 0.0051, (text, g.start, start)
        assert abs(g.end - end) < 0.0051, (text, g.end, end)


def test_tiny_english_file_equals_cli(tiny, tiny_dir):
    wav = os.path.join(golden_dir(), "bria_10s_24k.wav")
    want = cli_words(tiny_dir, wav)
    assert len(want) > 5
    got = tiny.transcribe(wav)
    same_words(got, want)
    assert got.duration == 10.0


def test_tiny_french_file_equals_cli(tiny, tiny_dir):
    wav = os.path.join(golden_dir(), "fr_6s_24k.wav")
    same_words(tiny.transcribe(wav), cli_words(tiny_dir, wav))


def test_tiny_array_equals_file(tiny, bria):
    from_file = tiny.transcribe(os.path.join(golden_dir(), "bria_10s_24k.wav"))
    assert tiny.transcribe(bria) == from_file
    assert tiny.transcribe(array.array("f", bria.tobytes())) == from_file
    assert tiny.transcribe(bria.tobytes()) == from_file
    assert tiny.transcribe(bria.astype(np.float64)) == from_file
    # a different block size changes nothing
    assert tiny.transcribe(bria, block_seconds=0.37) == from_file


def test_demo_samples_equal_cli(demo, demo_dir):
    expected = {}
    with open(os.path.join(demo_dir, "samples", "expected.tsv")) as f:
        for line in f:
            if not line.startswith("#"):
                name, _, words = line.rstrip("\n").split("\t")
                expected[name] = words
    assert len(expected) == 3
    for name, ref in expected.items():
        wav = os.path.join(demo_dir, "samples", name)
        want = cli_words(demo_dir, wav)
        got = demo.transcribe(wav)
        same_words(got, want)
        assert got.text == " ".join(w for w, _, _ in want)
    # sample1 is transcribed exactly by the demo model (its model card)
    assert demo.transcribe(os.path.join(demo_dir, "samples", "sample1.wav")).text == \
        expected["sample1.wav"]


def test_demo_q8_kv_equals_cli(demo_dir):
    """kv="q8" reaches the library: the tool's --kv q8 words, and the demo's exact sample1."""
    wav = os.path.join(demo_dir, "samples", "sample1.wav")
    with kstt.Model(demo_dir, kv="q8") as m:
        got = m.transcribe(wav)
    same_words(got, cli_words(demo_dir, wav, "--kv", "q8"))
    with open(os.path.join(demo_dir, "samples", "expected.tsv")) as f:
        ref = [l.rstrip("\n").split("\t")[2] for l in f if l.startswith("sample1.wav")][0]
    assert got.text == ref


def test_demo_int16_input(demo, demo_dir):
    import wave
    with wave.open(os.path.join(demo_dir, "samples", "sample1.wav")) as w:
        assert w.getsampwidth() == 2 and w.getframerate() == 24000 and w.getnchannels() == 1
        raw = w.readframes(w.getnframes())
    pcm16 = np.frombuffer(raw, dtype="<i2")
    from_file = demo.transcribe(os.path.join(demo_dir, "samples", "sample1.wav"))
    assert demo.transcribe(pcm16) == from_file
    assert demo.transcribe(raw, sample_format="s16") == from_file
    assert demo.transcribe(array.array("h", raw)) == from_file


def test_vad_steps(tiny, bria):
    t = tiny.transcribe(bria, vad=True)
    assert tiny.has_vad
    # one Step per LM step after the silence prefix, times 0, 0.08, ...
    assert len(t.steps) >= 125
    assert t.steps[0].time == 0.0
    assert all(0.0 <= p <= 1.0 for s in t.steps for p in s.prs)
    assert abs(t.steps[1].time - 0.08) < 1e-9
    assert tiny.transcribe(bria).steps == []


def test_load_audio_resamples(tmp_path):
    """A 48 kHz stereo file is mixed to mono and resampled to 24 kHz by libsoxr."""
    import wave
    p = tmp_path / "s48.wav"
    t = np.arange(48000) / 48000.0
    left = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    right = (0.1 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    with wave.open(str(p), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(np.stack([left, right], axis=1).tobytes())
    pcm = np.frombuffer(kstt.load_audio(p), dtype=np.float32)
    assert abs(len(pcm) - 24000) <= 1
    mid = pcm[2000:22000]
    assert abs(np.max(np.abs(mid)) - 0.2) < 0.01  # (0.3 + 0.1) / 2


def test_readme_one_liner(demo_dir):
    """The README's one-liner prints the demo words."""
    code = ("import kstt; print(kstt.Model('models/kstt-demo-en')"
            ".transcribe('models/kstt-demo-en/samples/sample1.wav'))")
    env = dict(os.environ)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(kstt.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([pkg_parent] + [p for p in [env.get("PYTHONPATH")] if p])
    r = subprocess.run([sys.executable, "-c", code], cwd=source_dir(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env)
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode()
    for w in "i can deal with this crew of workers".split():
        assert "Word(text='%s'" % w in out
