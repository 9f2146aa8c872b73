"""The Makefile's set-up: a failing apt-get degrades to a note, it never aborts ``make``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTE = "note: apt-get could not install dataset-fashion-mnist; Fashion-MNIST will come from INITLAB_DATA or a download"
BROWSER_NOTE = "note: apt-get could not install chromium and chromium-driver; the site's browser tests will be skipped"
# The Makefile's targets installed with apt: the variable naming the file each one makes, and its note.
APT_TARGETS = {"dataset-fashion-mnist": ("FASHION", NOTE), "chromium chromium-driver": ("CHROMEDRIVER", BROWSER_NOTE)}


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
@pytest.mark.parametrize("packages", list(APT_TARGETS))
@pytest.mark.parametrize("uid", ["0", "1000"], ids=["as root", "through sudo"])
def test_failing_apt_get_prints_a_note_and_make_goes_on(uid: str, packages: str, tmp_path: Path) -> None:
    variable, note = APT_TARGETS[packages]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    _stub(
        bin_dir,
        "apt-get",
        f'echo "apt-get $*" >> {calls}; [ "$1" = update ] && exit 0; echo "E: could not get lock" >&2; exit 1',
    )
    _stub(bin_dir, "sudo", f'echo "sudo $*" >> {calls}; exit 1')
    _stub(bin_dir, "id", f"echo {uid}")  # picks the recipe's branch: root, or not root with sudo
    target = tmp_path / "installed-file"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), str(target), f"{variable}={target}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert note in done.stdout
    # the recipe really tried (as root: apt-get itself; otherwise through sudo) and created nothing
    assert ("apt-get update" if uid == "0" else "sudo apt-get update") in calls.read_text()
    if uid == "0":  # apt-get's update succeeds, its install fails: the recipe asked for these packages
        assert f"apt-get install -y -qq {packages}" in calls.read_text()
    assert not target.exists()
