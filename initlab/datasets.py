"""MNIST, Fashion-MNIST and CIFAR-10 without a network: find, verify, load, preprocess.

:func:`load_dataset` looks, in order, in an explicit folder, each folder of
``$INITLAB_DATA`` (``:``-separated), the project's ``data/``, Debian's
``/usr/share/datasets/fashion-mnist``, and the Keras cache
``~/.keras/datasets``; only then, if allowed, it downloads from the official
URLs into ``data/``. Every file is verified against the sha256 of its
canonical content before use (see :mod:`initlab._formats`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from initlab import _formats as fmt
from initlab.errors import ChecksumError, DatasetNotFoundError, UnknownNameError
from initlab.paths import data_dir as project_data_dir
from initlab.paths import offline

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
IDX_KEYS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR_BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: its folder names, checksums of canonical content, classes, download source."""

    name: str
    kind: str  # "idx" or "cifar"
    folders: tuple[str, ...]
    sha256: dict[str, str]
    class_names: tuple[str, ...]
    url: str


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec("mnist", "idx", ("mnist",), {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    }, tuple(str(d) for d in range(10)), "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    "fashion_mnist": DatasetSpec("fashion_mnist", "idx", ("fashion-mnist", "fashion_mnist"), {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    }, ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
    "cifar10": DatasetSpec("cifar10", "cifar", ("cifar-10-batches-bin", "cifar-10-batches-py"), {
        "data_batch_1": "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5",
        "data_batch_2": "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed",
        "data_batch_3": "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67",
        "data_batch_4": "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48",
        "data_batch_5": "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add",
        "test_batch": "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b",
    }, ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"),
}
CIFAR_TAR_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: uint8 images and labels, class names, and where it came from."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    format: str


@dataclass(frozen=True)
class Candidate:
    """A place a dataset may be: a folder (or file) and the format expected there."""

    path: Path
    format: str  # idx-gz, keras-npz, cifar-bin, cifar-pickle

    def files(self) -> dict[str, Path]:
        """The files this candidate needs, keyed by canonical name."""
        if self.format == "idx-gz":
            return {k: self.path / f"{k}.gz" for k in IDX_KEYS}
        if self.format == "keras-npz":
            return {k: self.path for k in IDX_KEYS}
        suffix = ".bin" if self.format == "cifar-bin" else ""
        return {k: self.path / f"{k}{suffix}" for k in CIFAR_BATCHES}


def dataset_names() -> list[str]:
    """The names :func:`load_dataset` accepts."""
    return list(DATASETS)


def _spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise UnknownNameError("dataset", name, dataset_names())
    return DATASETS[name]


def keras_cache_dir() -> Path:
    """Keras' download cache: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def _in_root(spec: DatasetSpec, root: Path) -> list[Candidate]:
    out = []
    for folder in spec.folders:
        fmt_name = "idx-gz" if spec.kind == "idx" else ("cifar-bin" if folder.endswith("bin") else "cifar-pickle")
        out.append(Candidate(root / folder, fmt_name))
    return out


def search_paths(name: str, data_dir: str | os.PathLike[str] | None = None) -> list[Candidate]:
    """Every place :func:`load_dataset` looks for ``name``, in order."""
    spec = _spec(name)
    found: list[Candidate] = []
    if data_dir is not None:
        root = Path(data_dir)
        found += _in_root(spec, root)
        found += [Candidate(root, c.format) for c in _in_root(spec, root)]
    for entry in filter(None, os.environ.get("INITLAB_DATA", "").split(":")):
        found += _in_root(spec, Path(entry))
    found += _in_root(spec, project_data_dir())
    if name == "fashion_mnist":
        found.append(Candidate(DEBIAN_FASHION, "idx-gz"))
    keras_dir = keras_cache_dir()
    if name == "mnist":
        found.append(Candidate(keras_dir / "mnist.npz", "keras-npz"))
    elif name == "fashion_mnist":
        found.append(Candidate(keras_dir / "fashion-mnist", "idx-gz"))
    else:
        found.append(Candidate(keras_dir / "cifar-10-batches-py", "cifar-pickle"))
    unique: dict[tuple[Path, str], Candidate] = {}
    for c in found:
        unique.setdefault((c.path, c.format), c)
    return list(unique.values())


def canonical_bytes(candidate: Candidate, key: str) -> bytes:
    """The content of one file of a candidate, in canonical form (what the checksum covers)."""
    path = candidate.files()[key]
    if candidate.format == "idx-gz":
        return fmt.gunzip(path)
    if candidate.format == "keras-npz":
        member = {"train-images-idx3-ubyte": "x_train", "train-labels-idx1-ubyte": "y_train",
                  "t10k-images-idx3-ubyte": "x_test", "t10k-labels-idx1-ubyte": "y_test"}[key]
        return fmt.read_npz_member(path, member)
    if candidate.format == "cifar-bin":
        return path.read_bytes()
    return fmt.read_cifar_pickle(path)


def _verified(spec: DatasetSpec, candidate: Candidate, key: str) -> bytes:
    path = candidate.files()[key]
    try:
        content = canonical_bytes(candidate, key)
    except fmt.Unreadable as exc:
        raise ChecksumError(str(path), spec.sha256[key], fmt.sha256(exc.content), exc.detail) from None
    actual = fmt.sha256(content)
    if actual != spec.sha256[key]:
        raise ChecksumError(str(path), spec.sha256[key], actual)
    return content


def _read(spec: DatasetSpec, candidate: Candidate) -> Dataset:
    if spec.kind == "idx":
        arrays = [fmt.parse_idx(_verified(spec, candidate, k)) for k in IDX_KEYS]
        x_train, y_train, x_test, y_test = arrays
    else:
        parts = [fmt.parse_cifar_bin(_verified(spec, candidate, k)) for k in CIFAR_BATCHES]
        x_train = np.concatenate([p[0] for p in parts[:5]])
        y_train = np.concatenate([p[1] for p in parts[:5]])
        x_test, y_test = parts[5]
    return Dataset(spec.name, x_train, y_train, x_test, y_test, spec.class_names,
                   str(candidate.path), candidate.format)


_MEMO: dict[tuple, Dataset] = {}


def _stamp(spec: DatasetSpec, candidate: Candidate) -> tuple:
    stats = [p.stat() for p in candidate.files().values()]
    return (spec.name, str(candidate.path.resolve()), candidate.format,
            tuple((s.st_size, s.st_mtime_ns, s.st_ino) for s in stats))


def not_found_hint(name: str) -> str:
    """How to get a dataset that was not found."""
    ways = []
    if name == "fashion_mnist":
        ways.append("install Debian's package: apt-get install dataset-fashion-mnist")
    ways.append("set INITLAB_DATA to a folder holding mnist/, fashion-mnist/ or cifar-10-batches-bin/")
    ways.append("or allow the download: unset INITLAB_OFFLINE (or pass download=True) and run "
                "`initlab data fetch`")
    return "To get it: " + "; ".join(ways) + "."


def locate(name: str, data_dir: str | os.PathLike[str] | None = None) -> tuple[Candidate | None, list[str]]:
    """The first complete candidate for ``name`` and a description of every place looked."""
    spec = _spec(name)
    looked = []
    for cand in search_paths(name, data_dir):
        files = cand.files()
        missing = sorted({p.name for p in files.values() if not p.is_file()})
        if not missing:
            return cand, looked
        if len(missing) < len(set(files.values())):
            looked.append(f"{cand.path} (incomplete: missing {', '.join(missing)})")
        else:
            looked.append(str(cand.path))
    return None, looked


def load_dataset(name: str, data_dir: str | os.PathLike[str] | None = None,
                 download: bool | None = None) -> Dataset:
    """Load a dataset as uint8 arrays, verifying every file first.

    Args:
        name: ``mnist``, ``fashion_mnist`` or ``cifar10``.
        data_dir: a folder to look in first.
        download: allow downloading into ``data/`` when it is found nowhere
            (default: allowed unless ``INITLAB_OFFLINE=1``).

    Raises:
        UnknownNameError: an unknown name (the message lists the valid ones).
        DatasetNotFoundError: found nowhere and not downloaded (lists every place looked).
        ChecksumError: a file's content does not match its known checksum.
    """
    spec = _spec(name)
    candidate, looked = locate(name, data_dir)
    if candidate is None:
        allowed = (not offline()) if download is None else download
        if not allowed:
            raise DatasetNotFoundError(name, looked, not_found_hint(name))
        from initlab.download import fetch
        candidate = fetch(spec)
    stamp = _stamp(spec, candidate)
    if stamp not in _MEMO:
        _MEMO[stamp] = _read(spec, candidate)
    return _MEMO[stamp]


# Preprocessing: separate, explicit steps.

def scale(x: np.ndarray) -> np.ndarray:
    """uint8 pixels to float32 in [0, 1]."""
    return np.asarray(x, dtype=np.float32) / np.float32(255.0)


def flatten(x: np.ndarray) -> np.ndarray:
    """``(N, ...)`` to ``(N, features)``."""
    return np.reshape(x, (len(x), -1))


def add_channel_axis(x: np.ndarray) -> np.ndarray:
    """Grayscale ``(N, H, W)`` to ``(N, H, W, 1)``."""
    return x[..., np.newaxis] if x.ndim == 3 else x


def channel_stats(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of scaled training images (channels last)."""
    x = scale(x_train) if x_train.dtype == np.uint8 else np.asarray(x_train, dtype=np.float32)
    x = add_channel_axis(x)
    axes = tuple(range(x.ndim - 1))
    return x.mean(axis=axes, dtype=np.float64), x.std(axis=axes, dtype=np.float64)


def normalize_channels(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` per channel, as float32."""
    x = scale(x) if x.dtype == np.uint8 else x
    if x.ndim == 3:
        return ((x - np.float32(mean[0])) / np.float32(std[0])).astype(np.float32)
    return ((x - mean.astype(np.float32)) / std.astype(np.float32)).astype(np.float32)


# The report behind `initlab data check`.

@dataclass(frozen=True)
class CheckResult:
    """One dataset's status for ``initlab data check``."""

    name: str
    status: str  # ok, missing, corrupted
    where: str = ""
    format: str = ""
    shapes: str = ""
    class_counts: str = ""
    message: str = ""


def check_datasets(data_dir: str | os.PathLike[str] | None = None) -> list[CheckResult]:
    """Find and verify every dataset (never downloads)."""
    out = []
    for name in dataset_names():
        try:
            d = load_dataset(name, data_dir=data_dir, download=False)
        except DatasetNotFoundError as exc:
            out.append(CheckResult(name, "missing", message=str(exc)))
            continue
        except ChecksumError as exc:
            out.append(CheckResult(name, "corrupted", where=str(Path(exc.path).parent), message=str(exc)))
            continue
        counts = np.bincount(d.y_train, minlength=len(d.class_names))
        out.append(CheckResult(
            name, "ok", d.source, d.format,
            f"train {d.x_train.shape}, test {d.x_test.shape}",
            " ".join(str(int(c)) for c in counts)))
    return out


def format_check(results: list[CheckResult]) -> str:
    """A readable report of :func:`check_datasets`."""
    lines = []
    for r in results:
        lines.append(f"{r.name}: {r.status.upper()}")
        if r.status == "ok":
            lines += [f"  found in:     {r.where} ({r.format})", f"  shapes:       {r.shapes}",
                      f"  class counts: {r.class_counts} (train)", "  checksums:    all files verified (sha256)"]
        else:
            lines += ["  " + line for line in r.message.splitlines()]
    return "\n".join(lines)
