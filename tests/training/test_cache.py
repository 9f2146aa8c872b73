"""The run cache shared by several processes: corrupted entries set aside once, good ones never lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from initlab.training.cache import CorruptCacheWarning, RunCache, spec_key

ROOT = Path(__file__).resolve().parents[2]
N_PROCESSES = 6
N_EACH = 24  # keys of each kind: good, truncated, tampered, under another key's name

# One worker: waits for the start signal, then loads every key in order and "recomputes" (saves
# the expected payload of) any key the cache does not give it. Prints the keys it recomputed.
WORKER = """
import json, sys, time, warnings
from pathlib import Path
from initlab.training.cache import RunCache
root, go, keys = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
cache = RunCache(root)
warnings.simplefilter("ignore")
while not go.exists():
    time.sleep(0.0005)
computed = []
for key in keys:
    payload = cache.load(key)
    if payload is None:
        cache.save(key, {"key": key, "history": {"loss": [float(len(key))]}, "status": "ok"})
        computed.append(key)
    elif payload != {"key": key, "history": {"loss": [float(len(key))]}, "status": "ok"}:
        sys.exit(f"wrong payload for {key}: {payload}")
print(json.dumps(computed))
"""


def _payload(key: str) -> dict:
    """The synthetic result of the run stored under ``key`` (what WORKER recomputes)."""
    return {"key": key, "history": {"loss": [float(len(key))]}, "status": "ok"}


def _populate(root: Path) -> dict[str, list[str]]:
    """A cache folder with good entries and three kinds of corrupted ones; returns the keys by kind."""
    cache = RunCache(root)
    kinds: dict[str, list[str]] = {
        k: [spec_key({"kind": k, "i": i}) for i in range(N_EACH)]
        for k in ("good", "truncated", "tampered", "wrong_key")
    }
    for key in kinds["good"]:
        cache.save(key, _payload(key))
    for key in kinds["truncated"]:
        text = cache.save(key, _payload(key)).read_text()
        cache.path(key).write_text(text[: len(text) // 2])
    for key in kinds["tampered"]:
        record = json.loads(cache.save(key, _payload(key)).read_text())
        record["payload"]["status"] = "diverged"
        cache.path(key).write_text(json.dumps(record))
    for key, other in zip(kinds["wrong_key"], kinds["good"]):
        cache.path(key).write_text(cache.path(other).read_text())  # a good entry, of another run
    return kinds


def _is_corrupted(path: Path, key: str, scratch: Path) -> bool:
    """Whether ``path`` would be refused as the entry of ``key``."""
    scratch.mkdir(exist_ok=True)
    (scratch / f"{key}.json").write_bytes(path.read_bytes())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        payload = RunCache(scratch).load(key)
    return payload is None and any(issubclass(w.category, CorruptCacheWarning) for w in caught)


def test_processes_sharing_a_cache_set_corrupted_entries_aside_and_lose_no_good_one(tmp_path) -> None:
    root = tmp_path / "cache"
    kinds = _populate(root)
    good_bytes = {key: RunCache(root).path(key).read_bytes() for key in kinds["good"]}
    corrupted = kinds["truncated"] + kinds["tampered"] + kinds["wrong_key"]
    keys = [k for group in zip(*kinds.values()) for k in group]  # the kinds interleaved
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(root), str(go), json.dumps(keys)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(N_PROCESSES)
    ]
    go.touch()  # every worker starts at once
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err
    computed = [json.loads(out) for out, _ in results]
    recomputed = {k for keys_ in computed for k in keys_}

    cache = RunCache(root)
    for key in kinds["good"]:  # every good entry survives untouched, and nobody trained it again
        assert cache.path(key).read_bytes() == good_bytes[key]
    assert not recomputed & set(kinds["good"])
    assert recomputed == set(corrupted)  # each corrupted run was recomputed by someone
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(cache.load(key) == _payload(key) for key in keys)
    asides = sorted(root.glob("*.corrupt"))
    assert {p.name.split(".")[0] for p in asides} == set(corrupted)  # each set aside at least once
    assert len({p.name for p in asides}) == len(asides)
    # nothing good was set aside: every file moved aside is refused as its key's entry
    assert all(_is_corrupted(p, p.name.split(".")[0], tmp_path / "scratch") for p in asides)
    assert not list(root.glob("*.tmp"))


def _corrupt_entry(root: Path) -> tuple[RunCache, str]:
    cache = RunCache(root)
    key = spec_key({"run": 1})
    cache.save(key, _payload(key))
    cache.path(key).write_text("{not json")
    return cache, key


def _after_first_read(monkeypatch, path: Path, action) -> None:
    """Let another process act on ``path`` right after this one first reads it."""
    read = Path.read_text
    done = []

    def read_then_act(self, *args, **kwargs):
        text = read(self, *args, **kwargs)
        if self == path and not done:
            done.append(True)
            action()
        return text

    monkeypatch.setattr(Path, "read_text", read_then_act)


def test_a_corrupted_entry_another_process_moved_aside_is_not_an_error(tmp_path, monkeypatch) -> None:
    cache, key = _corrupt_entry(tmp_path / "cache")
    path = cache.path(key)
    _after_first_read(monkeypatch, path, lambda: path.rename(path.with_name("elsewhere.corrupt")))
    with pytest.warns(CorruptCacheWarning, match=f"{path.name}.*another process"):
        assert cache.load(key) is None


def test_a_good_entry_written_after_the_corrupted_read_is_kept(tmp_path, monkeypatch) -> None:
    cache, key = _corrupt_entry(tmp_path / "cache")
    path = cache.path(key)
    _after_first_read(monkeypatch, path, lambda: RunCache(path.parent).save(key, _payload(key)))
    assert cache.load(key) == _payload(key)
    assert not list(path.parent.glob("*.corrupt"))
    monkeypatch.undo()
    assert cache.load(key) == _payload(key)


def test_a_good_entry_written_just_before_the_move_is_put_back(tmp_path, monkeypatch) -> None:
    cache, key = _corrupt_entry(tmp_path / "cache")
    path = cache.path(key)
    replace = os.replace
    done = []

    def save_then_replace(src, dst):
        if str(dst).endswith(".corrupt") and not done:  # the other process wins the race
            done.append(True)
            RunCache(path.parent).save(key, _payload(key))
        return replace(src, dst)

    monkeypatch.setattr(os, "replace", save_then_replace)
    assert cache.load(key) == _payload(key)
    monkeypatch.undo()
    assert cache.load(key) == _payload(key)
    assert not list(path.parent.glob("*.corrupt"))


def test_corrupted_entries_get_distinct_aside_names(tmp_path) -> None:
    cache, key = _corrupt_entry(tmp_path / "cache")
    for _ in range(2):
        cache.path(key).write_text("{not json")
        with pytest.warns(CorruptCacheWarning, match="moved to"):
            assert cache.load(key) is None
    assert len(list(cache.root.glob(f"{key}.*.corrupt"))) == 2
