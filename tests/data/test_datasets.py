"""Loaders on the real files: shapes, first labels, class counts, search order, bad files, downloads."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import tarfile
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from initlab.data import datasets as ds
from initlab.data.download import RemoteArchive
from initlab.errors import ChecksumError, DatasetNotFoundError, InitlabError, InvalidArgumentError, UnknownNameError

FIRST_LABELS = {
    "mnist": [5, 0, 4, 1, 9, 2, 1, 3, 1, 4],
    "fashion_mnist": [9, 0, 0, 3, 0, 2, 7, 2, 5, 5],
    "cifar10": [6, 9, 9, 4, 1, 1, 2, 7, 8, 3],
}
IMAGE_SHAPES = {"mnist": (28, 28), "fashion_mnist": (28, 28), "cifar10": (32, 32, 3)}
# Where the real files are: $INITLAB_DATA as the test run was started, else the shared folder beside the repo.
REAL_ROOTS = [Path(p) for p in os.environ.get("INITLAB_DATA", "").split(":") if p]
REAL_ROOTS.append(Path(__file__).resolve().parents[3] / "shared" / "data")


def real(folder: str) -> Path:
    """The real copy of a dataset folder (``mnist``, ``cifar-10-batches-bin``); fails loudly if absent."""
    for root in REAL_ROOTS:
        if (root / folder).is_dir():
            return root / folder
    pytest.fail(f"real {folder}/ not found in {REAL_ROOTS}: set INITLAB_DATA to the folder holding it")


def link_copy(src: Path, dst: Path) -> Path:
    """A folder of symlinks to ``src``'s files: a free copy whose files can be replaced one by one."""
    dst.mkdir(parents=True)
    for f in src.iterdir():
        (dst / f.name).symlink_to(f)
    return dst


def replace_with(path: Path, content: bytes) -> None:
    path.unlink()
    path.write_bytes(content)


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch) -> Path:
    """Every default location points at an empty (non-existent) folder under ``tmp_path/empty``."""
    empty = tmp_path / "empty"
    monkeypatch.setenv("INITLAB_DATA", str(empty / "env"))
    monkeypatch.setenv("KERAS_HOME", str(empty / "keras"))
    monkeypatch.setattr(ds, "project_data_dir", lambda: empty / "project")
    monkeypatch.setattr(ds, "DEBIAN_FASHION", empty / "debian")
    return empty


# Real data --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ds.dataset_names())
def test_real_data_shapes_labels_and_counts(name: str) -> None:
    d = ds.load_dataset(name)
    n_train = 50_000 if name == "cifar10" else 60_000
    assert d.x_train.shape == (n_train, *IMAGE_SHAPES[name]) and d.x_test.shape == (10_000, *IMAGE_SHAPES[name])
    assert d.y_train.shape == (n_train,) and d.y_test.shape == (10_000,)
    assert {a.dtype for a in (d.x_train, d.y_train, d.x_test, d.y_test)} == {np.dtype(np.uint8)}
    assert d.y_train[:10].tolist() == FIRST_LABELS[name]
    counts = np.bincount(d.y_train, minlength=10)
    assert len(counts) == 10 == len(d.class_names)
    if name == "mnist":
        assert counts.sum() == 60_000 and counts.min() > 5000
    else:
        assert counts.tolist() == [n_train // 10] * 10
    assert d.x_train.max() == 255 and d.x_train.min() == 0
    assert not d.x_train.flags.writeable  # shared between loads, so read-only


def test_cifar_channel_layout_and_means() -> None:
    d = ds.load_dataset("cifar10")
    mean, std = ds.channel_stats(d.x_train)
    np.testing.assert_allclose(mean, [0.4914, 0.4822, 0.4465], atol=1e-3)
    # channel order is R, G, B: the first record's planes, read straight from the file
    raw = np.frombuffer((real("cifar-10-batches-bin") / "data_batch_1.bin").read_bytes()[:3073], np.uint8)
    np.testing.assert_array_equal(d.x_train[0], raw[1:].reshape(3, 32, 32).transpose(1, 2, 0))
    assert raw[0] == d.y_train[0]


def test_check_reports_all_three_ok() -> None:
    results = ds.check_datasets()
    assert [(r.name, r.status) for r in results] == [("mnist", "ok"), ("fashion_mnist", "ok"), ("cifar10", "ok")]
    by_name = {r.name: r for r in results}
    assert by_name["cifar10"].shapes["x_train"] == (50000, 32, 32, 3)
    assert by_name["cifar10"].class_counts == (5000,) * 10 and by_name["cifar10"].format == "cifar-bin"
    report = ds.format_check(results)
    assert "6000 6000" in report and "5000 5000" in report and "(60000, 28, 28)" in report
    assert str(real("mnist")) in report and report.count("match their sha256") == 3


# Names and search order ---------------------------------------------------------------------------


def test_unknown_dataset_lists_valid_names() -> None:
    for call in (lambda: ds.load_dataset("svhn"), lambda: ds.search_paths("svhn")):
        with pytest.raises(UnknownNameError) as err:
            call()
        assert isinstance(err.value, ValueError)
        assert "'svhn'" in str(err.value) and all(n in str(err.value) for n in ds.dataset_names())


def test_search_order(nowhere: Path, tmp_path: Path, monkeypatch) -> None:
    explicit, env1, env2 = tmp_path / "explicit", tmp_path / "env1", tmp_path / "env2"
    monkeypatch.setenv("INITLAB_DATA", f"{env1}:{env2}")
    keras = nowhere / "keras" / "datasets"
    assert ds.search_paths("fashion_mnist", data_dir=explicit) == [
        explicit / "fashion-mnist",
        explicit / "fashion_mnist",
        explicit,
        env1 / "fashion-mnist",
        env1 / "fashion_mnist",
        env2 / "fashion-mnist",
        env2 / "fashion_mnist",
        nowhere / "project" / "fashion-mnist",
        nowhere / "project" / "fashion_mnist",
        nowhere / "debian",
        keras / "fashion-mnist",
    ]
    assert ds.search_paths("mnist")[-1] == keras / "mnist.npz"
    assert ds.search_paths("cifar10")[-2:] == [
        keras / "cifar-10-batches-py",
        keras / "cifar-10-batches-py-target" / "cifar-10-batches-py",
    ]

    # a copy everywhere; each one removed in turn reveals the next
    source = real("mnist")
    places = [explicit / "mnist", env2 / "mnist", nowhere / "project" / "mnist"]
    for place in places:
        link_copy(source, place)
    for place in places:
        d = ds.load_dataset("mnist", data_dir=explicit, download=False)
        assert d.source == str(place) and d.y_train[:10].tolist() == FIRST_LABELS["mnist"]
        for f in place.iterdir():
            f.unlink()
    (keras).mkdir(parents=True)
    (keras / "mnist.npz").write_bytes(b"")
    assert ds.locate("mnist", explicit)[0].path == keras / "mnist.npz"


def test_explicit_dir_may_be_the_dataset_folder_itself(nowhere: Path) -> None:
    d = ds.load_dataset("mnist", data_dir=real("mnist"), download=False)
    assert d.source == str(real("mnist")) and d.format == "idx-gz"


def test_debian_fashion_folder(nowhere: Path, monkeypatch) -> None:
    monkeypatch.setattr(ds, "DEBIAN_FASHION", Path("/usr/share/datasets/fashion-mnist"))
    d = ds.load_dataset("fashion_mnist", download=False)
    assert d.source == "/usr/share/datasets/fashion-mnist" and d.class_names[0] == "T-shirt/top"


def test_missing_dataset_names_every_place_and_the_ways_to_get_it(nowhere: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as err:
        ds.load_dataset("fashion_mnist", download=False)
    text = str(err.value)
    assert err.value.searched == [str(p) for p in ds.search_paths("fashion_mnist")]
    assert all(str(p) in text for p in ds.search_paths("fashion_mnist"))
    assert "apt-get install dataset-fashion-mnist" in text
    assert "INITLAB_DATA" in text and "mnist/, fashion-mnist/ or cifar-10-batches-bin/" in text
    assert "INITLAB_OFFLINE" in text and "download=True" in text
    with pytest.raises(DatasetNotFoundError) as err:
        ds.load_dataset("cifar10", download=False)
    assert "apt-get" not in str(err.value)


def test_offline_forbids_the_download(nowhere: Path, monkeypatch) -> None:
    monkeypatch.setenv("INITLAB_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError):
        ds.load_dataset("mnist")
    assert not (nowhere / "project").exists()
    result = {r.name: r for r in ds.check_datasets()}["mnist"]
    assert result.status == "missing" and "Looked in" in result.message


def test_incomplete_folder_names_the_missing_file(nowhere: Path, tmp_path: Path, monkeypatch) -> None:
    part = link_copy(real("mnist"), tmp_path / "part" / "mnist")
    (part / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"part/mnist \(incomplete: missing t10k-labels-idx1-ubyte.gz\)"):
        ds.load_dataset("mnist", data_dir=part.parent, download=False)
    # skipped, not fatal: a complete copy further down the list is used
    monkeypatch.setenv("INITLAB_DATA", str(real("mnist").parent))
    assert ds.load_dataset("mnist", data_dir=part.parent).source == str(real("mnist"))


# Corrupted files ----------------------------------------------------------------------------------


def test_truncated_gzip_is_named_with_both_hashes_and_never_used(nowhere: Path, tmp_path: Path) -> None:
    bad = link_copy(real("mnist"), tmp_path / "bad" / "mnist")
    first = ds.load_dataset("mnist", data_dir=bad.parent)
    assert ds.load_dataset("mnist", data_dir=bad.parent) is first  # memoized: no rehash
    target = bad / "train-labels-idx1-ubyte.gz"
    cut = target.read_bytes()[:5000]
    replace_with(target, cut)
    with pytest.raises(ChecksumError) as err:
        ds.load_dataset("mnist", data_dir=bad.parent)
    expected = ds.DATASETS["mnist"].sha256("train-labels-idx1-ubyte")
    decompressible = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut)
    assert 0 < len(decompressible) < 60_008
    assert (err.value.path, err.value.expected, err.value.actual) == (
        str(target),
        expected,
        hashlib.sha256(decompressible).hexdigest(),
    )
    text = str(err.value)
    assert str(target) in text and expected in text and err.value.actual in text and "truncated" in text
    result = {r.name: r for r in ds.check_datasets(data_dir=bad.parent)}["mnist"]
    assert result.status == "corrupted" and result.where == str(bad) and str(target) in result.message


def test_damaged_and_wrong_gzip_content(nowhere: Path, tmp_path: Path) -> None:
    bad = link_copy(real("mnist"), tmp_path / "bad" / "mnist")
    target = bad / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    replace_with(target, bytes(data))
    with pytest.raises(ChecksumError, match="damaged gzip file") as err:
        ds.load_dataset("mnist", data_dir=bad.parent)
    assert err.value.path == str(target)
    # a valid gzip of other content: no decoding error, only the hash tells
    replace_with(target, gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 4))
    with pytest.raises(ChecksumError, match="decompressed IDX content") as err:
        ds.load_dataset("mnist", data_dir=bad.parent)
    assert err.value.actual == hashlib.sha256(b"\x00\x00\x08\x01" + b"\x00" * 4).hexdigest()


def test_recompressed_gzip_passes(nowhere: Path, tmp_path: Path) -> None:
    folder = tmp_path / "re" / "mnist"
    folder.mkdir(parents=True)
    for src in real("mnist").glob("*.gz"):
        (folder / src.name).write_bytes(gzip.compress(gzip.decompress(src.read_bytes()), compresslevel=1))
        assert (folder / src.name).read_bytes() != src.read_bytes()
    d = ds.load_dataset("mnist", data_dir=folder.parent)
    np.testing.assert_array_equal(d.x_test, ds.load_dataset("mnist", data_dir=real("mnist")).x_test)


def test_corrupted_cifar_batch(nowhere: Path, tmp_path: Path) -> None:
    bad = link_copy(real("cifar-10-batches-bin"), tmp_path / "cifar-10-batches-bin")
    target = bad / "data_batch_1.bin"
    data = bytearray(target.read_bytes())
    data[12345] ^= 0xFF
    replace_with(target, bytes(data))
    with pytest.raises(ChecksumError) as err:
        ds.load_dataset("cifar10", data_dir=tmp_path)
    assert err.value.path == str(target)
    assert err.value.expected == ds.DATASETS["cifar10"].sha256("data_batch_1")
    assert err.value.actual == hashlib.sha256(data).hexdigest()
    assert err.value.expected in str(err.value) and err.value.actual in str(err.value)


# Other containers: Keras' mnist.npz and CIFAR-10's python pickles -------------------------------------


def test_keras_mnist_npz(nowhere: Path) -> None:
    mnist = ds.load_dataset("mnist", data_dir=real("mnist"))
    keras = nowhere / "keras" / "datasets"
    keras.mkdir(parents=True)
    arrays = {k: getattr(mnist, k) for k in ("x_train", "y_train", "x_test", "y_test")}
    np.savez(keras / "mnist.npz", **arrays)
    d = ds.load_dataset("mnist", download=False)
    assert (d.format, d.source) == ("keras-npz", str(keras / "mnist.npz"))
    for k, a in arrays.items():
        np.testing.assert_array_equal(getattr(d, k), a)

    altered = dict(arrays, y_test=arrays["y_test"].copy())
    altered["y_test"][0] = (altered["y_test"][0] + 1) % 10
    np.savez(keras / "mnist.npz", **altered)
    with pytest.raises(ChecksumError, match="mnist.npz") as err:
        ds.load_dataset("mnist", download=False)
    assert err.value.expected == ds.DATASETS["mnist"].sha256("t10k-labels-idx1-ubyte")


def _pickle_batch(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    rows = x.transpose(0, 3, 1, 2).reshape(len(x), -1)  # HWC back to the R, G, B planes
    with path.open("wb") as fh:
        pickle.dump({b"batch_label": b"test", b"labels": y.tolist(), b"data": rows, b"filenames": []}, fh)


def test_keras_cifar_pickles(nowhere: Path) -> None:
    real_cifar = ds.load_dataset("cifar10", data_dir=real("cifar-10-batches-bin").parent)
    py = nowhere / "keras" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    py.mkdir(parents=True)
    for i in range(5):
        part = slice(i * 10_000, (i + 1) * 10_000)
        _pickle_batch(py / f"data_batch_{i + 1}", real_cifar.x_train[part], real_cifar.y_train[part])
    _pickle_batch(py / "test_batch", real_cifar.x_test, real_cifar.y_test)
    with (py / "batches.meta").open("wb") as fh:
        pickle.dump(
            {
                b"num_cases_per_batch": 10000,
                b"num_vis": 3072,
                b"label_names": [n.encode() for n in real_cifar.class_names],
            },
            fh,
        )
    d = ds.load_dataset("cifar10", download=False)
    assert (d.format, d.source) == ("cifar-pickle", str(py))
    for k in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(d, k), getattr(real_cifar, k))

    # a readable pickle with one wrong label, then a truncated one: both refused, naming the file
    y = real_cifar.y_test.copy()
    y[7] = (y[7] + 1) % 10
    _pickle_batch(py / "test_batch", real_cifar.x_test, y)
    with pytest.raises(ChecksumError, match="test_batch.*rebuilt from the pickle"):
        ds.load_dataset("cifar10", download=False)
    replace_with(py / "test_batch", (py / "data_batch_1").read_bytes()[:-100])
    with pytest.raises(ChecksumError, match="test_batch.*not a readable"):
        ds.load_dataset("cifar10", download=False)


# Downloads (file:// URLs; never the network) ----------------------------------------------------------


@pytest.fixture
def server(nowhere: Path, tmp_path: Path, monkeypatch) -> Path:
    """A folder served as the MNIST download URL, holding the real files."""
    folder = link_copy(real("mnist"), tmp_path / "server")
    monkeypatch.setitem(ds.DATASETS, "mnist", replace(ds.DATASETS["mnist"], base_url=folder.as_uri() + "/"))
    monkeypatch.delenv("INITLAB_OFFLINE")  # downloads allowed by default
    return folder


def test_download_verifies_then_moves_into_place(server: Path, nowhere: Path) -> None:
    d = ds.load_dataset("mnist")
    target = nowhere / "project" / "mnist"
    assert d.source == str(target) and d.y_train[:10].tolist() == FIRST_LABELS["mnist"]
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in server.iterdir())
    assert all(not p.is_symlink() for p in target.iterdir())
    assert ds.locate("mnist")[0].path == target  # next time it is simply found


def test_download_with_wrong_content_leaves_nothing(server: Path, nowhere: Path) -> None:
    replace_with(server / "t10k-labels-idx1-ubyte.gz", gzip.compress(b"not the labels"))
    with pytest.raises(ChecksumError, match="t10k-labels-idx1-ubyte") as err:
        ds.load_dataset("mnist", download=True)
    assert err.value.actual == hashlib.sha256(b"not the labels").hexdigest()
    target = nowhere / "project" / "mnist"
    assert sorted(p.name for p in target.iterdir()) == [  # earlier files verified and kept, no .part
        "t10k-images-idx3-ubyte.gz",
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    replace_with(server / "t10k-labels-idx1-ubyte.gz", (real("mnist") / "t10k-labels-idx1-ubyte.gz").read_bytes()[:-9])
    with pytest.raises(ChecksumError, match="truncated"):
        ds.load_dataset("mnist", download=True)
    assert len(list(target.iterdir())) == 3


def test_download_failure_is_an_initlab_error(server: Path, nowhere: Path) -> None:
    (server / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(InitlabError, match="Download of .*train-images-idx3-ubyte.gz failed"):
        ds.load_dataset("mnist")
    assert not (nowhere / "project" / "mnist").exists()


def _cifar_tar(path: Path, members: dict[str, Path | None]) -> str:
    """An (uncompressed, for speed) archive laid out like cifar-10-binary.tar.gz; returns its md5."""
    with tarfile.open(path, "w") as tar:
        for name, src in members.items():
            if src is None:
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                tar.add(src, arcname=name)
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_cifar_download_checks_md5_then_each_member(nowhere: Path, tmp_path: Path, monkeypatch) -> None:
    served = tmp_path / "served"
    served.mkdir()
    spec = replace(ds.DATASETS["cifar10"], base_url=served.as_uri() + "/")
    monkeypatch.setitem(ds.DATASETS, "cifar10", spec)
    published = spec.archive.md5
    src = real("cifar-10-batches-bin")
    target = nowhere / "project" / "cifar-10-batches-bin"
    members = {f"cifar-10-batches-bin/{f.name}": f for f in sorted(src.iterdir())}

    _cifar_tar(served / ds.CIFAR_ARCHIVE, members)  # the published md5 does not match this archive
    with pytest.raises(ChecksumError) as err:
        ds.load_dataset("cifar10", download=True)
    assert err.value.algorithm == "md5" and err.value.expected == published
    assert "expected md5" in str(err.value) and not target.exists()

    md5 = _cifar_tar(served / ds.CIFAR_ARCHIVE, {**members, "cifar-10-batches-bin/data_batch_2.bin": None})
    monkeypatch.setitem(ds.DATASETS, "cifar10", replace(spec, archive=RemoteArchive(ds.CIFAR_ARCHIVE, md5)))
    with pytest.raises(InitlabError, match="not a regular file"):
        ds.load_dataset("cifar10", download=True)
    assert sorted(p.name for p in target.iterdir()) == ["data_batch_1.bin"]  # nothing else, no .part

    md5 = _cifar_tar(served / ds.CIFAR_ARCHIVE, members)
    monkeypatch.setitem(ds.DATASETS, "cifar10", replace(spec, archive=RemoteArchive(ds.CIFAR_ARCHIVE, md5)))
    d = ds.load_dataset("cifar10", download=True)
    assert (d.source, d.format) == (str(target), "cifar-bin")
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in src.iterdir())
    assert d.y_train[:10].tolist() == FIRST_LABELS["cifar10"]


# Preprocessing ------------------------------------------------------------------------------------


def test_scale_flatten_and_channel_axis() -> None:
    x = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    s = ds.scale(x)
    assert s.dtype == np.float32
    np.testing.assert_array_equal(s, np.array([[[0.0, 1.0], [0.2, 0.4]]], dtype=np.float32))
    with pytest.raises(InvalidArgumentError, match="uint8"):
        ds.scale(s)  # scaling twice is a bug, not a no-op
    assert ds.flatten(s).shape == (1, 4) and ds.flatten(np.zeros((5, 4, 4, 3))).shape == (5, 48)
    assert ds.add_channel_axis(s).shape == (1, 2, 2, 1)
    with pytest.raises(InvalidArgumentError):
        ds.add_channel_axis(np.zeros((1, 2, 2, 1)))


def test_channel_stats_and_normalize() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, size=(50, 4, 4, 3), dtype=np.uint8)
    mean, std = ds.channel_stats(rgb)
    direct = rgb.astype(np.float64) / 255
    np.testing.assert_allclose(mean, direct.mean(axis=(0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(std, direct.std(axis=(0, 1, 2)), rtol=1e-12)
    mean_f, std_f = ds.channel_stats(ds.scale(rgb))  # already-scaled floats give the same
    np.testing.assert_allclose(mean_f, mean, rtol=1e-6)
    np.testing.assert_allclose(std_f, std, rtol=1e-6)
    z = ds.normalize_channels(rgb, mean, std)
    assert z.dtype == np.float32 and z.shape == rgb.shape
    np.testing.assert_allclose(z.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 1, 2)), 1, atol=1e-5)
    grey = rgb[..., 0]
    g_mean, g_std = ds.channel_stats(grey)
    assert g_mean.shape == (1,)
    np.testing.assert_allclose(ds.normalize_channels(grey, g_mean, g_std).std(), 1, atol=1e-5)
    with pytest.raises(InvalidArgumentError, match="one value per channel"):
        ds.normalize_channels(rgb, g_mean, g_std)
