"""Model specs: a directory, or a Hugging Face repo id resolved through the local Hugging Face
cache exactly as the kstt tool does ($HF_HUB_CACHE, else $HF_HOME/hub, else
$XDG_CACHE_HOME/huggingface/hub or ~/.cache/huggingface/hub; models--ORG--NAME/refs/REV names
the commit, snapshots/COMMIT/ holds config.json and the files it names). A repo missing from
the cache is fetched by running `kstt download` (the kstt tool: $KSTT_BIN or `kstt` on PATH)
unless download=False or HF_HUB_OFFLINE is set.
"""
import json
import os
import re
import shutil
import subprocess

from ._errors import Error

ENOTFOUND = -9
EINVAL = -1
EFORMAT = -4

_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def _env_true(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def cache_dir():
    v = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if v:
        return os.path.expanduser(v)
    home = os.environ.get("HF_HOME")
    if home:
        home = os.path.expanduser(home)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
        home = os.path.join(os.path.expanduser(xdg), "huggingface")
    return os.path.join(home, "hub")


def _looks_like_path(s):
    return (s.startswith(("/", ".", "~")) or s.endswith("/") or s.count("/") > 1)


def config_files(config_path):
    """The files config.json names (moshi_name defaults to model.safetensors)."""
    try:
        with open(config_path, "rb") as f:
            cfg = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        raise Error("%s: cannot read the model config: %s" % (config_path, e), EFORMAT)
    if not isinstance(cfg, dict):
        raise Error("%s: not a JSON object" % config_path, EFORMAT)
    names = [cfg.get("moshi_name") or "model.safetensors"]
    for key in ("mimi_name", "tokenizer_name", "mimi_config_name"):
        if isinstance(cfg.get(key), str):
            names.append(cfg[key])
    return names


def snapshot_problem(snap):
    """None when snap holds config.json and every file it names, else why not."""
    cfg = os.path.join(snap, "config.json")
    if not os.path.isfile(cfg):
        return "%s has no config.json" % snap
    for n in config_files(cfg):
        if not os.path.isfile(os.path.join(snap, n)):
            return "%s lacks %s (named by config.json)" % (snap, n)
    return None


def cache_lookup(repo, revision="main"):
    """(snapshot dir or None, why)."""
    org, name = repo.split("/", 1)
    rdir = os.path.join(cache_dir(), "models--%s--%s" % (org, name))
    if re.fullmatch(r"[0-9a-f]{40}", revision):
        commit = revision
    else:
        ref = os.path.join(rdir, "refs", revision)
        try:
            with open(ref) as f:
                commit = f.read().strip()
        except OSError:
            return None, "%s is not in the Hugging Face cache (no %s)" % (repo, ref)
        if not commit or "/" in commit or commit in (".", ".."):
            return None, "%s: does not hold a commit hash" % ref
    snap = os.path.join(rdir, "snapshots", commit)
    if not os.path.isdir(snap):
        return None, "%s at revision %s is not in the Hugging Face cache (no %s)" % (
            repo, revision, snap)
    why = snapshot_problem(snap)
    return (None, why) if why else (snap, None)


def kstt_tool():
    b = os.environ.get("KSTT_BIN")
    if b and os.access(b, os.X_OK):
        return b
    return shutil.which("kstt")


def resolve(spec, download=True, revision="main"):
    spec = os.fspath(spec)
    if not spec:
        raise Error("empty model name", EINVAL)
    if os.path.exists(spec):
        if not os.path.isdir(spec):
            raise Error("%s: is a file; a model is a directory or a Hugging Face repo id "
                        "(ORG/NAME)" % spec, EINVAL)
        if not os.path.isfile(os.path.join(spec, "config.json")):
            raise Error("%s: no config.json in this directory (a model directory holds "
                        "config.json and the files it names)" % spec, ENOTFOUND)
        return spec
    if _looks_like_path(spec):
        raise Error("%s: no such model directory" % spec, ENOTFOUND)
    if not _REPO_RE.match(spec) or ".." in spec:
        raise Error("'%s' is neither a model directory nor a Hugging Face repo id (ORG/NAME)"
                    % spec, EINVAL)
    snap, why = cache_lookup(spec, revision)
    if snap:
        return snap
    if _env_true("HF_HUB_OFFLINE"):
        raise Error("%s; HF_HUB_OFFLINE is set, so nothing is downloaded (run `kstt download "
                    "%s` while online)" % (why, spec), ENOTFOUND)
    tool = kstt_tool() if download else None
    if not tool:
        raise Error("%s (run `kstt download %s`)" % (why, spec), ENOTFOUND)
    cmd = [tool, "download", "--quiet"]
    if revision != "main":
        cmd += ["--revision", revision]
    r = subprocess.run(cmd + [spec], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        msg = r.stderr.decode("utf-8", "replace").strip() or "exit status %d" % r.returncode
        raise Error("%s; `kstt download %s` failed: %s" % (why, spec, msg), -10)
    snap, why = cache_lookup(spec, revision)
    if not snap:
        raise Error("%s (after `kstt download %s`)" % (why, spec), ENOTFOUND)
    return snap
