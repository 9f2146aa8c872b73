"""TensorFlow's C++ notes stay off stderr: at import (``initlab._tf_quiet``) and at run time (the command's log level).

The commands run in fresh processes with ``TF_CPP_MIN_LOG_LEVEL`` empty (which
TensorFlow reads as 0; unset takes the same branch), so what quiets them is the
command's own doing, not the test session's setting.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# absl/glog lines ("I0000 00:00:1796658031.669839   15621 cudart_stub.cc:31] ...") and the notes TF prints around them
NOTES = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d\d|absl::InitializeLog|cudart_stub|cuInit|cuda drivers|NodeDef mentions", re.M
)
# The smallest training the command line does: TensorFlow imported, Keras fit (tf.data), evaluate.
RUN = ["run", "--dataset", "mnist", "--model", "mlp_128", "--init", "he_normal", "--epochs", "1"]
RUN += ["--train-limit", "64", "--test-limit", "64", "--no-cache", "--engine", "keras"]
# The command line's entry point, with a Python warning while Keras is imported (inside the quiet import) and
# a warning and an error line after TensorFlow ran: all must still reach stderr.
SCRIPT = (
    "import sys, warnings\n"
    "class Warn:\n"
    "    def find_spec(self, name, path, target=None):\n"
    "        if name == 'keras':\n"
    "            warnings.warn('a Python warning while Keras is imported')\n"
    "sys.meta_path.insert(0, Warn())\n"
    "from initlab.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "warnings.warn('a Python warning after TensorFlow ran')\n"
    "print('an error line after TensorFlow ran', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return {**env, **extra}


def _start(env: dict[str, str], tmp_path: Path) -> subprocess.Popen:
    tmp_path.mkdir()
    env = {**env, "INITLAB_CACHE": str(tmp_path / "cache")}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *RUN],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_training_command_writes_no_tensorflow_notes_but_keeps_python_warnings(tmp_path: Path) -> None:
    quiet = _start(_env(TF_CPP_MIN_LOG_LEVEL=""), tmp_path / "quiet")
    loud = _start(_env(TF_CPP_MIN_LOG_LEVEL="0"), tmp_path / "loud")  # the caller's own setting is kept
    (quiet_out, quiet_err), (_, loud_err) = quiet.communicate(timeout=300), loud.communicate(timeout=300)
    assert quiet.returncode == 0 and loud.returncode == 0, quiet_err + loud_err
    assert "test_accuracy" in quiet_out  # it trained and printed its table
    assert NOTES.findall(quiet_err) == [], quiet_err
    assert "UserWarning: a Python warning after TensorFlow ran" in quiet_err
    assert "UserWarning: a Python warning while Keras is imported" in quiet_err
    assert "an error line after TensorFlow ran" in quiet_err
    assert "NodeDef mentions" in loud_err  # the pattern does catch TensorFlow's run-time notes when they are on


def test_importing_the_command_line_loads_no_tensorflow() -> None:
    """So that ``main`` sets the log level before any command imports TensorFlow."""
    code = "import sys, initlab.cli; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_the_command_line_sets_the_log_level_unless_the_caller_chose_one(monkeypatch) -> None:
    import pytest

    from initlab.cli import main

    for given, kept in (("", "3"), ("0", "0"), ("2", "2")):
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", given)
        with pytest.raises(SystemExit):
            main(["--help"])
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == kept
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    with pytest.raises(SystemExit):
        main(["--help"])
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
