"""Model(codebooks=K): the library's num_codebooks (moshi-server's audio_codebooks). K = n_q
gives the default's words, the model reports K codebooks in use, K out of range raises
kstt.Error with the library's message, and the CLI's --codebooks gives the same words."""
import json
import os
import subprocess

import pytest

import kstt

from conftest import golden_dir, kstt_bin


def test_codebooks(tiny_dir):
    wav = os.path.join(golden_dir(), "bria_10s_24k.wav")
    with kstt.Model(tiny_dir, threads=1) as full, kstt.Model(tiny_dir, threads=1,
                                                              codebooks=8) as eight:
        assert full.info["num_codebooks"] == 8 and eight.info["num_codebooks"] == 8
        assert len(full.transcribe(wav)) > 0
        assert eight.transcribe(wav) == full.transcribe(wav)
    with kstt.Model(tiny_dir, threads=1, codebooks=3) as three:
        assert three.info["num_codebooks"] == 3
        got = [(w.text, w.start, w.end) for w in three.transcribe(wav)]
    r = subprocess.run([kstt_bin(), "transcribe", "--quiet", "--format", "json", "--codebooks",
                        "3", "--model", tiny_dir, wav], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=True)
    cli = [(w["word"], w["start"], w["end"]) for w in json.loads(r.stdout.decode())["words"]]
    assert [w for w, _, _ in got] == [w for w, _, _ in cli]
    for (_, s0, e0), (_, s1, e1) in zip(got, cli):
        assert abs(s0 - s1) < 0.0051 and abs(e0 - e1) < 0.0051
    for bad in (-1, 9):
        with pytest.raises(kstt.Error) as e:
            kstt.Model(tiny_dir, threads=1, codebooks=bad)
        assert "num_codebooks %d out of range 1..8" % bad in str(e.value)
