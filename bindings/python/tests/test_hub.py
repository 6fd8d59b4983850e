"""Repo ids resolve through the Hugging Face cache layout as the kstt tool does; a repo that is
not cached raises an Error telling to run `kstt download`."""
import os

import pytest

import kstt


def make_cache(root, tiny_dir, repo="kyutai/tiny-test", rev="0123456789abcdef" * 2 + "01234567"):
    org, name = repo.split("/")
    rdir = root / ("models--%s--%s" % (org, name))
    snap = rdir / "snapshots" / rev
    blobs = rdir / "blobs"
    snap.mkdir(parents=True)
    blobs.mkdir()
    for i, f in enumerate(sorted(os.listdir(tiny_dir))):
        blob = blobs / ("blob%d" % i)
        blob.write_bytes(open(os.path.join(tiny_dir, f), "rb").read())
        os.symlink(os.path.relpath(blob, snap), snap / f)
    (rdir / "refs").mkdir()
    (rdir / "refs" / "main").write_text(rev)
    return snap


def test_repo_id_from_cache(tmp_path, tiny_dir, monkeypatch, bria):
    snap = make_cache(tmp_path / "hub", tiny_dir)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    m = kstt.Model("kyutai/tiny-test", threads=1)
    assert m.path == str(snap)
    ref = kstt.Model(tiny_dir, threads=1)
    assert m.transcribe(bria[:48000]) == ref.transcribe(bria[:48000])


def test_hf_home(tmp_path, tiny_dir, monkeypatch):
    make_cache(tmp_path / "home" / "hub", tiny_dir)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert kstt.Model("kyutai/tiny-test", threads=1).path.startswith(str(tmp_path / "home"))


def test_missing_repo_says_kstt_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(kstt.Error) as e:
        kstt.Model("kyutai/not-cached", download=False)
    assert "kstt download kyutai/not-cached" in str(e.value)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(kstt.Error, match="HF_HUB_OFFLINE"):
        kstt.Model("kyutai/not-cached")


def test_incomplete_snapshot(tmp_path, tiny_dir, monkeypatch):
    snap = make_cache(tmp_path, tiny_dir)
    os.remove(snap / "model.safetensors")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(kstt.Error, match="lacks model.safetensors"):
        kstt.Model("kyutai/tiny-test", download=False)
