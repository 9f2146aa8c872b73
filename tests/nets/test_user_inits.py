"""A user's initializer, from a module outside the package: by import path, class or instance, through a
study and the command line; each bad input refused in one line; its cache key its identity and arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

import initlab
from initlab.cli import main
from initlab.errors import InvalidArgumentError, MissingRunsError, UnknownNameError
from initlab.nets.initializers import get_initializer, layer_seed
from initlab.nets.models import build_model
from initlab.nets.user_inits import init_label, key_fields
from initlab.training import RunSpec, Study
from initlab.training.spec import LATER_FIELDS

MODULE = "initlab_demo_inits"  # written to a folder outside the package, put on sys.path
SOURCE = '''
import keras


class ScaledHe(keras.initializers.Initializer):
    """He normal times ``gain``."""

    def __init__(self, gain=1.0, seed=None):
        if not float(gain) > 0:
            raise ValueError(f"gain must be positive, got {gain}")
        self.gain, self.seed = float(gain), seed

    def __call__(self, shape, dtype=None):
        return self.gain * keras.initializers.HeNormal(seed=self.seed)(shape, dtype=dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


HALF = ScaledHe(gain=0.5)


class Forgetful(keras.initializers.Initializer):
    """Its get_config() leaves its argument out."""

    def __init__(self, value=1.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return keras.ops.full(shape, self.value, dtype=dtype)


class Broken(keras.initializers.Initializer):
    def __call__(self, shape, dtype=None):
        raise RuntimeError("no draws here")


class NotAnInit:
    pass


def a_function(shape, dtype=None):
    return keras.ops.zeros(shape, dtype=dtype)


NUMBER = 3
'''
SMALL = dict(train_limit=600, test_limit=500, epochs=1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("user_code")
    (path / f"{MODULE}.py").write_text(SOURCE)
    (path / "initlab_demo_broken.py").write_text('raise RuntimeError("boom at import")\n')
    (path / "initlab_demo_needs.py").write_text("import initlab_demo_missing_dependency\n")
    return path


@pytest.fixture
def demo(folder: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(folder))
    return __import__(MODULE)


def test_the_module_lies_outside_the_package(folder: Path) -> None:
    assert Path(initlab.__file__).resolve().parent not in (folder / MODULE).resolve().parents


def test_an_import_path_builds_the_users_class_with_each_layers_seed(demo) -> None:
    init = get_initializer(f'{MODULE}:ScaledHe{{"gain": 0.5}}', seed=7)
    assert type(init) is demo.ScaledHe and (init.gain, init.seed) == (0.5, 7)
    assert get_initializer(f"{MODULE}:ScaledHe", seed=7, gain=0.25).gain == 0.25  # init_params on top
    assert get_initializer(f'{MODULE}:ScaledHe{{"gain": 0.5}}', gain=0.25).gain == 0.25
    half = get_initializer(f"{MODULE}:HALF", seed=7)  # an instance: rebuilt with the layer's seed
    assert type(half) is demo.ScaledHe and (half.gain, half.seed) == (0.5, 7)
    model = build_model("mlp_128", (28, 28), init=f'{MODULE}:ScaledHe{{"gain": 0.5}}', seed=3)
    for i, name in enumerate(["hidden_1", "output"], start=1):
        kernel = model.get_layer(name).kernel
        he = keras.initializers.HeNormal(seed=layer_seed(3, i))(tuple(kernel.shape))
        np.testing.assert_array_equal(np.asarray(kernel), 0.5 * np.asarray(he))


def test_objects_are_named_by_their_import_path(demo) -> None:
    assert init_label(demo.ScaledHe) == f"{MODULE}:ScaledHe"
    assert init_label(demo.ScaledHe(gain=2, seed=5)) == f'{MODULE}:ScaledHe{{"gain":2.0}}'  # seed left out
    assert init_label(demo.ScaledHe()) == f"{MODULE}:ScaledHe"  # defaults left out
    assert init_label(keras.initializers.HeNormal(seed=1)) == "keras.initializers:HeNormal"
    assert init_label(keras.initializers.Orthogonal(gain=2.0)) == 'keras.initializers:Orthogonal{"gain":2.0}'
    assert init_label("he_normal") == "he_normal"
    study = Study(
        "mnist",
        "mlp_128",
        [demo.ScaledHe(gain=2), demo.ScaledHe, "he_normal"],
        init_params={demo.ScaledHe: {"gain": 3.0}},
    )
    assert study.inits == (f'{MODULE}:ScaledHe{{"gain":2.0}}', f"{MODULE}:ScaledHe", "he_normal")
    assert [(s.init, s.init_params) for s in study.specs()] == [
        (f'{MODULE}:ScaledHe{{"gain":2.0}}', {}),
        (f"{MODULE}:ScaledHe", {"gain": 3.0}),
        ("he_normal", {}),
    ]
    assert RunSpec("mnist", "mlp_128", demo.HALF, 0).init == f'{MODULE}:ScaledHe{{"gain":0.5}}'


def test_a_study_trains_it_and_caches_each_gain_apart(demo, cache_root: Path) -> None:
    study = Study("mnist", "mlp_128", [demo.ScaledHe(gain=0.5), "he_normal"], **SMALL)
    df = study.run(cache_root=str(cache_root))
    assert list(df["init"]) == [f'{MODULE}:ScaledHe{{"gain":0.5}}', "he_normal"]
    assert df["loss"].map(np.isfinite).all() and (df["status"] == "ok").all()
    # the same run, spelled as a path with JSON, comes from the cache; another gain does not
    again = Study("mnist", "mlp_128", [f'{MODULE}:ScaledHe{{"gain": 0.5}}'], **SMALL)
    assert again.run(cache_root=str(cache_root), cached_only=True)["test_accuracy"].iloc[0] == pytest.approx(
        df["test_accuracy"].iloc[0]
    )
    other = Study("mnist", "mlp_128", [demo.ScaledHe], init_params={demo.ScaledHe: {"gain": 0.25}}, **SMALL)
    with pytest.raises(MissingRunsError):
        other.run(cache_root=str(cache_root), cached_only=True)


def test_the_command_line_trains_it_in_a_fresh_process(folder: Path, tmp_path: Path) -> None:
    root = Path(initlab.__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(folder), str(root)]),
        "INITLAB_CACHE": str(tmp_path / "cache"),
    }
    init = f'{MODULE}:ScaledHe{{"gain": 0.5}}'
    out = tmp_path / "res.csv"
    argv = ["run", "--dataset", "mnist", "--model", "mlp_128", "--init", init, "--epochs", "1"]
    argv += ["--train-limit", "600", "--test-limit", "500", "--out", str(out)]
    done = subprocess.run([sys.executable, "-m", "initlab.cli", *argv], env=env, cwd=tmp_path, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    table = pd.read_csv(out)
    assert list(table["init"]) == [init] and table["test_accuracy"].between(0, 1).all()


def test_initlab_inits_lists_names_with_descriptions_and_says_how_to_pass_your_own(capsys) -> None:
    assert main(["inits"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith("zero_hadamard ") and "Hadamard" in line for line in lines)
    assert "package.module:Name" in lines[-1] and "JSON" in lines[-1]


BAD = [
    ("initlab_demo_nowhere:ScaledHe", "module 'initlab_demo_nowhere', which was not found"),
    ("initlab_demo_nowhere.sub:ScaledHe", "module 'initlab_demo_nowhere.sub', which was not found"),
    ("initlab_demo_broken:X", "whose import failed: RuntimeError: boom at import"),
    ("initlab_demo_needs:X", "whose import failed: ModuleNotFoundError"),
    (f"{MODULE}:Missing", f"names 'Missing', which '{MODULE}' does not define"),
    (f"{MODULE}:ScaledHe.gain.real", "names 'gain'"),
    (f"{MODULE}:a_function", "it names the function 'a_function'"),
    (f"{MODULE}:NotAnInit", "the class NotAnInit, which does not subclass keras.initializers.Initializer"),
    (f"{MODULE}:NUMBER", "it names an int"),
    (f"{MODULE}:keras", "it names the module 'keras'"),
    (f'{MODULE}:ScaledHe{{"gain": }}', "not valid JSON"),
    (f"{MODULE}:ScaledHe[0.5]", "must be a registered name or package.module:Name"),
    (f"{MODULE}:ScaledHe[1]{{}}", "must be a registered name or package.module:Name"),
    (f"{MODULE}:ScaledHe[1, 2]", "must be a registered name or package.module:Name"),
    (f"{MODULE}:ScaledHe{{}}x", "not valid JSON"),
    (f"{MODULE}:ScaledHe" + '{"gain": [1, 2]}', "could not be built"),
    (f'{MODULE}:ScaledHe{{"gain": -1}}', 'could not be built with {"gain": -1}: ValueError: gain must be positive'),
    (f'{MODULE}:ScaledHe{{"gian": 2}}', "`gian` is not a parameter of"),
    (f"{MODULE}:Broken", "could not draw a (4, 3) kernel: RuntimeError: no draws here"),
    (f"{MODULE}.ScaledHe", "Or your own: package.module:Name"),
]


@pytest.mark.parametrize("init, message", BAD, ids=[b[0] for b in BAD])
def test_each_bad_input_gets_one_line(demo, init: str, message: str, capsys) -> None:
    with pytest.raises((InvalidArgumentError, UnknownNameError)) as err:
        Study("mnist", "mlp_128", [init]).specs()
    text = str(err.value)
    assert message in text and "\n" not in text, text
    argv = ["run", "--dataset", "mnist", "--model", "mlp_128", "--init", init, "--epochs", "1"]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initlab: error:") and message in lines[0]


def test_objects_that_cannot_travel_are_refused(demo) -> None:
    class Local(keras.initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return keras.ops.zeros(shape, dtype=dtype)

    with pytest.raises(InvalidArgumentError, match="defined inside a function") as err:
        Study("mnist", "mlp_128", [Local()])
    assert "\n" not in str(err.value)
    with pytest.raises(InvalidArgumentError, match="leaves out value"):
        Study("mnist", "mlp_128", [demo.Forgetful(value=2.0)])
    with pytest.raises(InvalidArgumentError, match="leaves out gain"):  # Keras' own Identity forgets its gain
        init_label(keras.initializers.Identity(gain=2.0))
    with pytest.raises(UnknownNameError):  # not an initializer: refused as an unknown name, as before
        Study("mnist", "mlp_128", [3]).specs()


def test_cache_keys_hold_identity_and_arguments(demo) -> None:
    def key(init, **params) -> str:
        return RunSpec("mnist", "mlp_128", init, 0, init_params=params).key()

    half = key(f'{MODULE}:ScaledHe{{"gain": 0.5}}')
    # one run, however it is spelled
    assert half == key(f'{MODULE}:ScaledHe{{"gain":0.5}}') == key(f"{MODULE}:ScaledHe", gain=0.5)
    assert half == key(demo.ScaledHe(gain=0.5, seed=9)) == key(f"{MODULE}:HALF") == key(demo.HALF)
    assert key(f"{MODULE}:ScaledHe") == key(f'{MODULE}:ScaledHe{{"gain": 1.0}}')  # the default
    # two gains never share an entry, whichever way they are given
    gains = [0.1, 0.2, 0.5, 2.0]
    assert len({key(f'{MODULE}:ScaledHe{{"gain": {g}}}') for g in gains}) == len(gains)
    assert len({key(f"{MODULE}:ScaledHe", gain=g) for g in gains}) == len(gains)
    assert half != key("he_normal")
    fields = key_fields(f"{MODULE}:HALF", {})
    assert fields["init"] == f"{MODULE}:ScaledHe" and fields["init_params"] == {"gain": 0.5}
    assert len(fields["init_source"]) == 64
    # a registered name keeps the key it always had: its fields, nothing added
    assert key_fields("he_normal", {"x": 1}) == {}
    spec = RunSpec("mnist", "mlp_128", "he_normal", 0)
    from initlab import __version__
    from initlab.training.cache import spec_key

    plain = {k: v for k, v in asdict(spec).items() if not (k in LATER_FIELDS and v == LATER_FIELDS[k])}
    assert spec.key() == spec_key({**plain, "version": __version__})


def test_an_edited_initializer_gets_a_new_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = "initlab_demo_edited"
    path = tmp_path / f"{name}.py"
    path.write_text(SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    spec = RunSpec("mnist", "mlp_128", f"{name}:ScaledHe", 0)
    before = spec.key()
    path.write_text(SOURCE.replace("self.gain * keras", "2 * self.gain * keras"))
    assert spec.key() != before
    assert json.loads(json.dumps(key_fields(spec.init, {})))["init"] == f"{name}:ScaledHe"
