"""Loaders on the real files: shapes, first labels, class counts, search order, bad files."""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from initlab import datasets as ds
from initlab import paths
from initlab.errors import ChecksumError, DatasetNotFoundError, UnknownNameError

FIRST_LABELS = {
    "mnist": [5, 0, 4, 1, 9, 2, 1, 3, 1, 4],
    "fashion_mnist": [9, 0, 0, 3, 0, 2, 7, 2, 5, 5],
    "cifar10": [6, 9, 9, 4, 1, 1, 2, 7, 8, 3],
}
SHAPES = {"mnist": (28, 28), "fashion_mnist": (28, 28), "cifar10": (32, 32, 3)}


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch) -> Path:
    """Every default location points at an empty folder."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("INITLAB_DATA", str(empty / "env"))
    monkeypatch.setenv("KERAS_HOME", str(empty / "keras"))
    monkeypatch.setattr(ds, "project_data_dir", lambda: empty / "project")
    monkeypatch.setattr(ds, "DEBIAN_FASHION", empty / "debian")
    return empty


REAL_ROOTS = [Path(p) for p in os.environ.get("INITLAB_DATA", "").split(":") if p]


def _real(folder: str) -> Path:
    for root in REAL_ROOTS:
        if (root / folder).is_dir():
            return root / folder
    pytest.fail(f"{folder} not found: set INITLAB_DATA to the folder holding the real datasets")


def mnist_dir() -> Path:
    return _real("mnist")


@pytest.mark.parametrize("name", ds.dataset_names())
def test_real_data_shapes_labels_and_counts(name: str) -> None:
    d = ds.load_dataset(name)
    n_train = 50_000 if name == "cifar10" else 60_000
    assert d.x_train.shape == (n_train, *SHAPES[name]) and d.x_train.dtype == np.uint8
    assert d.x_test.shape == (10_000, *SHAPES[name]) and d.y_test.shape == (10_000,)
    assert d.y_train[:10].tolist() == FIRST_LABELS[name]
    counts = np.bincount(d.y_train, minlength=10)
    if name == "mnist":
        assert counts.sum() == 60_000 and counts.min() > 5000
    else:
        assert set(counts) == {n_train // 10}
    assert len(d.class_names) == 10


def test_cifar_channel_means() -> None:
    mean, std = ds.channel_stats(ds.load_dataset("cifar10").x_train)
    np.testing.assert_allclose(mean, [0.4914, 0.4822, 0.4465], atol=1e-3)
    assert np.all(std > 0.2)


def test_unknown_dataset_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError, match="mnist, fashion_mnist, cifar10|cifar10, fashion_mnist, mnist"):
        ds.load_dataset("svhn")


def test_missing_dataset_names_every_place_and_the_ways_to_get_it(nowhere: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as err:
        ds.load_dataset("fashion_mnist", download=False)
    text = str(err.value)
    for cand in ds.search_paths("fashion_mnist"):
        assert str(cand.path) in text
    assert "apt-get install dataset-fashion-mnist" in text
    assert "INITLAB_DATA" in text and "download" in text


def test_offline_forbids_the_download(nowhere: Path, monkeypatch) -> None:
    monkeypatch.setenv("INITLAB_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError):
        ds.load_dataset("mnist")


def test_search_order_explicit_dir_first(nowhere: Path, tmp_path: Path, monkeypatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for root in (first, second):
        shutil.copytree(mnist_dir(), root / "mnist")
    monkeypatch.setenv("INITLAB_DATA", f"{tmp_path / 'nothing'}:{second}")
    assert ds.load_dataset("mnist").source == str(second / "mnist")
    assert ds.load_dataset("mnist", data_dir=first).source == str(first / "mnist")
    order = [c.path for c in ds.search_paths("mnist", data_dir=first)]
    assert order.index(first / "mnist") < order.index(second / "mnist") < order.index(nowhere / "project" / "mnist")
    assert order[-1] == nowhere / "keras" / "datasets" / "mnist.npz"


def test_truncated_file_is_named_with_both_hashes_and_never_used(nowhere: Path, tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "bad" / "mnist"
    shutil.copytree(mnist_dir(), bad)
    target = bad / "train-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:5000])
    with pytest.raises(ChecksumError) as err:
        ds.load_dataset("mnist", data_dir=bad.parent)
    text = str(err.value)
    assert str(target) in text and ds.DATASETS["mnist"].sha256["train-labels-idx1-ubyte"] in text
    assert err.value.actual != err.value.expected and err.value.actual in text
    assert "truncated" in text
    result = {r.name: r for r in ds.check_datasets(data_dir=bad.parent)}["mnist"]
    assert result.status == "corrupted"


def test_recompressed_gzip_passes(nowhere: Path, tmp_path: Path) -> None:
    folder = tmp_path / "re" / "mnist"
    folder.mkdir(parents=True)
    for src in mnist_dir().glob("*.gz"):
        (folder / src.name).write_bytes(gzip.compress(gzip.decompress(src.read_bytes()), compresslevel=1))
    assert ds.load_dataset("mnist", data_dir=folder.parent).y_train[:3].tolist() == [5, 0, 4]


def test_incomplete_folder_names_the_missing_file(nowhere: Path, tmp_path: Path) -> None:
    part = tmp_path / "part" / "mnist"
    shutil.copytree(mnist_dir(), part)
    (part / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match="incomplete: missing t10k-labels-idx1-ubyte.gz"):
        ds.load_dataset("mnist", data_dir=part.parent, download=False)


def test_keras_npz_and_cifar_pickle_formats(nowhere: Path, tmp_path: Path) -> None:
    mnist = ds.load_dataset("mnist", data_dir=mnist_dir().parent)
    keras_dir = nowhere / "keras" / "datasets"
    keras_dir.mkdir(parents=True)
    np.savez(keras_dir / "mnist.npz", x_train=mnist.x_train, y_train=mnist.y_train,
             x_test=mnist.x_test, y_test=mnist.y_test)
    from_npz = ds.load_dataset("mnist", download=False)
    assert from_npz.format == "keras-npz"
    np.testing.assert_array_equal(from_npz.x_train, mnist.x_train)

    real = ds.load_dataset("cifar10", data_dir=_real_cifar_root())
    py = keras_dir / "cifar-10-batches-py"
    py.mkdir()
    for i, key in enumerate(ds.CIFAR_BATCHES):
        x, y = (real.x_train[i * 10000:(i + 1) * 10000], real.y_train[i * 10000:(i + 1) * 10000]) if i < 5 \
            else (real.x_test, real.y_test)
        rows = x.transpose(0, 3, 1, 2).reshape(len(x), -1)
        with (py / key).open("wb") as fh:
            pickle.dump({b"data": rows, b"labels": y.tolist()}, fh)
    from_pickle = ds.load_dataset("cifar10", download=False)
    assert from_pickle.format == "cifar-pickle"
    np.testing.assert_array_equal(from_pickle.x_train, real.x_train)
    np.testing.assert_array_equal(from_pickle.y_test, real.y_test)
    # a damaged pickle is a checksum failure naming that file
    (py / "data_batch_3").write_bytes((py / "data_batch_3").read_bytes()[:-100])
    with pytest.raises(ChecksumError, match="data_batch_3"):
        ds.load_dataset("cifar10", download=False)


def _real_cifar_root() -> Path:
    return _real("cifar-10-batches-bin").parent


def test_corrupted_cifar_batch(tmp_path: Path) -> None:
    src = _real_cifar_root() / "cifar-10-batches-bin"
    bad = tmp_path / "cifar-10-batches-bin"
    bad.mkdir()
    for f in src.glob("*.bin"):
        os.symlink(f, bad / f.name)
    (bad / "test_batch.bin").unlink()
    data = bytearray((src / "test_batch.bin").read_bytes())
    data[12345] ^= 0xFF
    (bad / "test_batch.bin").write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="test_batch.bin") as err:
        ds.load_dataset("cifar10", data_dir=tmp_path)
    assert err.value.expected == ds.DATASETS["cifar10"].sha256["test_batch"]


def test_download_verifies_then_moves_into_place(nowhere: Path, tmp_path: Path, monkeypatch) -> None:
    server = tmp_path / "server"
    shutil.copytree(mnist_dir(), server)
    project = nowhere / "project"
    monkeypatch.setattr("initlab.download.data_dir", lambda: project)
    spec = ds.DATASETS["mnist"]
    monkeypatch.setitem(ds.DATASETS, "mnist", ds.DatasetSpec(spec.name, spec.kind, spec.folders, spec.sha256,
                                                             spec.class_names, server.as_uri() + "/"))
    d = ds.load_dataset("mnist", download=True)
    assert d.source == str(project / "mnist")
    assert sorted(p.name for p in (project / "mnist").iterdir()) == sorted(p.name for p in server.glob("*.gz"))

    # a server that serves a wrong file: ChecksumError, nothing left behind
    shutil.rmtree(project / "mnist")
    (server / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"not the labels"))
    with pytest.raises(ChecksumError, match="t10k-labels-idx1-ubyte"):
        ds.load_dataset("mnist", download=True)
    assert not (project / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list((project / "mnist").glob("*.part"))


def test_preprocessing_steps() -> None:
    x = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    s = ds.scale(x)
    assert s.dtype == np.float32 and s.max() == 1.0 and s.min() == 0.0
    assert ds.flatten(s).shape == (1, 4)
    assert ds.add_channel_axis(s).shape == (1, 2, 2, 1)
    rgb = np.random.default_rng(0).integers(0, 256, size=(50, 4, 4, 3), dtype=np.uint8)
    mean, std = ds.channel_stats(rgb)
    z = ds.normalize_channels(rgb, mean, std)
    np.testing.assert_allclose(z.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 1, 2)), 1, atol=1e-4)


def test_check_reports_all_three_ok() -> None:
    results = ds.check_datasets()
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    report = ds.format_check(results)
    assert "6000 6000" in report and "5000 5000" in report and "(60000, 28, 28)" in report
