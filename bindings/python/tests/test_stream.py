"""Streams: any chunking gives the events of one whole feed; inputs of every accepted kind give
the same events; two threads run streams of one model at once with the results of running
them alone; reset starts over."""
import array
import random
import threading

import numpy as np

import kstt


def run(model, chunks, **kw):
    events = []
    with model.stream(**kw) as s:
        for c in chunks:
            events += s.feed(c)
        events += s.flush()
    return events


def words(events):
    return [(e.text, e.start, e.tokens) for e in events if isinstance(e, kstt.Word)]


def test_random_chunking_is_exact(tiny, bria):
    whole = run(tiny, [bria])
    assert len(words(whole)) > 5
    assert any(isinstance(e, kstt.EndWord) for e in whole)
    assert any(isinstance(e, kstt.Step) for e in whole)
    rng = random.Random(1234)
    for _ in range(3):
        chunks, i = [], 0
        while i < len(bria):
            k = rng.choice([0, 1, 7, 480, 1919, 1920, 1921, 5000, 33333])
            chunks.append(bria[i:i + k])
            i += k
        assert run(tiny, chunks) == whole


def test_event_fields(tiny, bria):
    ev = run(tiny, [bria])
    ws = [e for e in ev if isinstance(e, kstt.Word)]
    assert all(w.end is None and w.tokens for w in ws)
    assert tiny.decode(list(ws[3].tokens)) == ws[3].text
    starts = [w.start for w in ws]
    assert starts == sorted(starts)
    steps = [e for e in ev if isinstance(e, kstt.Step)]
    assert [s.step for s in steps] == list(range(1, len(steps) + 1))
    assert run(tiny, [bria], vad=False) == [e for e in ev if not isinstance(e, kstt.Step)]


def test_input_kinds_agree(tiny, bria):
    x = bria[:48000]
    ref = run(tiny, [x])
    assert run(tiny, [array.array("f", x.tobytes())]) == ref
    assert run(tiny, [x.tobytes()]) == ref
    assert run(tiny, [bytearray(x.tobytes())]) == ref
    assert run(tiny, [memoryview(array.array("f", x.tobytes()))]) == ref
    assert run(tiny, [x.tolist()]) == ref
    assert run(tiny, [x.reshape(-1, 1)]) == ref
    assert run(tiny, [x[::1].astype(np.float64)]) == ref


def test_two_threads(demo, demo_dir, bria):
    import os
    pcm = np.frombuffer(kstt.load_audio(os.path.join(demo_dir, "samples", "sample3.wav")),
                        dtype=np.float32)
    alone = [run(demo, [pcm]), run(demo, [bria])]
    results = [None, None]
    errors = []

    def worker(i, x):
        try:
            out = []
            for _ in range(2):
                out.append(run(demo, [x[j:j + 4000] for j in range(0, len(x), 4000)]))
            results[i] = out
        except Exception as e:  # reported below
            errors.append(e)

    ts = [threading.Thread(target=worker, args=(0, pcm)),
          threading.Thread(target=worker, args=(1, bria))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert results[0] == [alone[0], alone[0]]
    assert results[1] == [alone[1], alone[1]]


def test_reset_and_raw_mode(tiny, bria):
    with tiny.stream() as s:
        first = s.feed(bria) + s.flush()
        s.reset()
        again = s.feed(bria) + s.flush()
    assert first == again
    raw = run(tiny, [bria], pad=False)
    assert raw != first  # no silence prefix: other steps, other times
    assert [e.step for e in raw if isinstance(e, kstt.Step)][:3] == [1, 2, 3]
