"""The ``initlab`` command: help on every subcommand, tables, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from initlab.cli import main
from initlab.initializers import init_names
from initlab.models import model_names

SUBCOMMANDS = [[], ["data"], ["data", "check"], ["data", "fetch"], ["inits"], ["models"], ["run"], ["reproduce"]]


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
    code = main(["run", "--dataset", "mnist", "--model", "mlp_128", "--init", "he_normal", "--epochs", "1",
                 "--seeds", "0", "1", "--train-limit", "500", "--test-limit", "200", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "he_normal" in text and "test_accuracy" in text and "ci_low" in text
    import pandas as pd
    assert len(pd.read_csv(out)) == 2


@pytest.mark.parametrize("argv, message", [
    (["--model", "resnet"], "Unknown model 'resnet'"),
    (["--dataset", "svhn"], "Unknown dataset 'svhn'"),
    (["--init", "kaiming"], "Unknown initializer 'kaiming'"),
    (["--train-limit", "99999999"], "train_limit=99999999"),
])
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
