"""The ``initlab`` command: help on every subcommand, tables, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from initlab.cli import main
from initlab.nets.initializers import init_names
from initlab.nets.models import model_names

SUBCOMMANDS = [
    [],
    ["data"],
    ["data", "check"],
    ["data", "fetch"],
    ["inits"],
    ["models"],
    ["run"],
    ["reproduce"],
    ["sweep"],
]


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=lambda w: " ".join(w) or "initlab")
def test_help(words, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*words, "--help"])
    assert exit_.value.code == 0
    assert "usage: initlab" in capsys.readouterr().out


def test_installed_entry_point_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "initlab.cli", "models"], capture_output=True, text=True, check=True)
    assert "mlp_128" in out.stdout


def test_inits_and_models_list_the_registries(capsys) -> None:
    assert main(["inits"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in init_names())
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in model_names())


def test_data_check_finds_all_three(capsys) -> None:
    assert main(["data", "check"]) == 0
    text = capsys.readouterr().out
    for name in ("mnist", "fashion_mnist", "cifar10"):
        assert name in text


def test_run_prints_table_and_writes_csv(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("INITLAB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "res.csv"
    code = main(
        [
            "run",
            "--dataset",
            "mnist",
            "--model",
            "mlp_128",
            "--init",
            "he_normal",
            "--epochs",
            "1",
            "--seeds",
            "0",
            "1",
            "--train-limit",
            "500",
            "--test-limit",
            "200",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "he_normal" in text and "test_accuracy" in text and "ci_low" in text
    import pandas as pd

    assert len(pd.read_csv(out)) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "resnet"], "Unknown model 'resnet'"),
        (["--dataset", "svhn"], "Unknown dataset 'svhn'"),
        (["--init", "kaiming"], "Unknown initializer 'kaiming'"),
        (["--train-limit", "99999999"], "train_limit=99999999"),
        (["--engine", "turbo"], "`engine` must be one of auto, keras, stacked, stacked_bf16"),
    ],
)
def test_bad_flags_get_a_one_line_error(argv, message, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("INITLAB_CACHE", str(tmp_path))
    base = {"--dataset": "mnist", "--model": "mlp_128", "--init": "he_normal"}
    args = ["run", "--epochs", "1"]
    for flag, value in base.items():
        if flag not in argv:
            args += [flag, value]
    assert main(args + argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_epochs_below_one_is_rejected(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--dataset", "mnist", "--model", "mlp_128", "--init", "he_normal", "--epochs", "0"])
    assert exit_.value.code == 2
    assert "must be >= 1" in capsys.readouterr().err


# --- bad `run` flags: one line, exit 2, refused before anything trains ---------------------------

RUN = ["run", "--dataset", "mnist", "--model", "mlp_128", "--init", "he_normal", "--epochs", "1"]
NOT_ROOT = pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")


@pytest.fixture
def no_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make any training fail the test; returns the (fresh) run cache folder."""
    from initlab.training import engines

    def refuse(*args, **kwargs):
        raise AssertionError("trained although the arguments are invalid")

    monkeypatch.setattr(engines, "train", refuse)
    monkeypatch.setattr(engines, "train_stack", refuse)
    cache = tmp_path / "cache"
    monkeypatch.setenv("INITLAB_CACHE", str(cache))
    return cache


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("initlab: error:") and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "argv, word",
    [
        (["--seeds", "-1"], "seed"),
        (["--seeds", "4294967296"], "seed"),
        (["--seeds", "0", "0"], "seed"),
        (["--learning-rate", "nan"], "learning_rate"),
        (["--learning-rate", "-1"], "learning_rate"),
        (["--optimizer", "rmsprop"], "Unknown optimizer 'rmsprop'"),
        (["--optimizer", "sgd", "--momentum", "1"], "momentum"),
        (["--momentum", "0.9"], "only sgd takes momentum"),
        (["--optimizer", "sgd", "--nesterov"], "nesterov"),
        (["--train-limit", "1"], "train_limit"),
        (["--out", "/proc/nope/x.csv"], "/proc/nope/x.csv"),
        (["--out", "/sys/x.json"], "/sys/x.json"),
        (["--out", "{tmp}/folder.csv"], "is a directory"),
        (["--out", "{tmp}/plain/x.csv"], "is not a folder"),
        (["--out", "{tmp}/results.txt"], ".csv or .json"),
        pytest.param(["--out", "{tmp}/read-only/x.csv"], "Permission denied", marks=NOT_ROOT),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_bad_run_flags_are_refused_before_training(
    argv: list[str], word: str, tmp_path: Path, no_training: Path, capsys
) -> None:
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "plain").write_text("a file, not a folder\n")
    (tmp_path / "read-only").mkdir(mode=0o555)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(RUN + argv) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert word in line
    assert not no_training.exists() or not any(no_training.iterdir())


def _fake_study(*args, **kwargs):
    """A two-epoch tidy frame shaped like `Study.run`'s, without training."""
    import pandas as pd

    from initlab.training.record import RESULT_COLUMNS

    rows = [
        {
            "dataset": "mnist",
            "model": "mlp_128",
            "init": "he_normal",
            "seed": 0,
            "epoch": e,
            "loss": 0.5 / e,
            "accuracy": 0.8 + e / 100,
            "val_loss": 0.6 / e,
            "val_accuracy": 0.8,
            "test_loss": 0.4,
            "test_accuracy": 0.9,
            "wall_time": 1.0,
            "status": "ok",
            "diverged_epoch": None,
            "engine": "stacked",
        }
        for e in (1, 2)
    ]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def test_run_out_creates_folders_and_leaves_only_the_file(tmp_path: Path, monkeypatch, capsys) -> None:
    import json

    from initlab.training import Study

    monkeypatch.setattr(Study, "run", _fake_study)
    out = tmp_path / "new" / "deeper" / "results.JSON"
    assert main(RUN + ["--out", str(out)]) == 0
    records = json.loads(out.read_text())  # JSON whatever the suffix's case
    assert [r["epoch"] for r in records] == [1, 2]
    assert sorted(p.name for p in out.parent.iterdir()) == ["results.JSON"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]  # the writability probe is gone


def test_interrupted_run_out_keeps_the_previous_file(tmp_path: Path, monkeypatch, capsys, interrupt_csv_writes) -> None:
    from initlab.training import Study

    monkeypatch.setattr(Study, "run", _fake_study)
    out = tmp_path / "results.csv"
    out.write_text("previous results\n")
    interrupt_csv_writes()
    assert main(RUN + ["--out", str(out)]) == 130
    assert out.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]


# --- bench: bad models and stack sizes are refused before anything is measured -------------------


@pytest.fixture
def no_measuring(monkeypatch: pytest.MonkeyPatch):
    """``initlab.training.bench`` with every measurement replaced by a test failure."""
    import initlab.training.bench as bench

    def refuse(*args, **kwargs):
        raise AssertionError("measured although the configuration is invalid")

    for name in ("matmul_rate", "_keras_way", "_engine_way"):
        monkeypatch.setattr(bench, name, refuse)
    return bench


def test_bench_unknown_model_is_refused_before_measuring(no_measuring, capsys) -> None:
    assert main(["bench", "--quick", "--models", "mlp_128", "resnet"]) == 2
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    assert "Unknown model 'resnet'" in line
    assert all(name in line for name in model_names())
    assert captured.out == ""  # not even the header


@pytest.mark.parametrize(
    "change",
    [
        {"stacks": (0,)},
        {"stacks": ()},
        {"conv_stacks": (2, -1)},
        {"stacks": (2.5,)},
        {"epochs": 0},
        {"keras_models": 0},
        {"models": ()},
        {"train_limit": 0},
    ],
    ids=str,
)
def test_run_bench_checks_its_config_before_measuring(change: dict, no_measuring) -> None:
    from initlab.errors import InvalidArgumentError

    cfg = no_measuring.BenchConfig(**{**no_measuring.QUICK.__dict__, **change})
    with pytest.raises(InvalidArgumentError):
        no_measuring.run_bench(cfg, log=lambda line: None)


@pytest.mark.parametrize("given", [{"epochs": 0}, {"stacks": []}, {"models": []}], ids=str)
def test_bench_main_refuses_empty_or_zero_instead_of_using_the_default(given: dict, no_measuring) -> None:
    from initlab.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError):
        no_measuring.main(quick=True, **given)
