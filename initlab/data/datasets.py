"""MNIST, Fashion-MNIST and CIFAR-10: find, verify, load, preprocess.

:func:`load_dataset` looks, in order, in an explicit folder, each folder of
``$INITLAB_DATA`` (``:``-separated), the project's ``data/``, Debian's
``/usr/share/datasets/fashion-mnist`` and the Keras cache; only when the
dataset is found nowhere, and downloads are allowed, does it download from
the official URLs into ``data/`` (see :mod:`initlab.data.download`). Every file is
verified against the sha256 of its canonical content before use (see
:mod:`initlab.data.formats`), and a mismatch is an error, never a fallback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from initlab.data import formats as fmt
from initlab.data.download import RemoteArchive, fetch
from initlab.data.formats import Candidate
from initlab.errors import ChecksumError, DatasetNotFoundError, InvalidArgumentError, UnknownNameError
from initlab.paths import data_dir as project_data_dir
from initlab.paths import offline

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist


def keras_cache_dir() -> Path:
    """Keras' download cache: ``$KERAS_HOME/datasets``, else ``~/.keras/datasets``."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "datasets"


# Declarations: each file once, with the checksum of its canonical content and
# where it is downloaded from (the entry's base_url + remote; a mirror or a
# file:// URL in tests replaces the entry's base_url).
CIFAR_ARCHIVE = "cifar-10-binary.tar.gz"


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset.

    ``key`` is its canonical name (``train-images-idx3-ubyte``, ``data_batch_1``,
    ``batches.meta``), ``sha256`` the hash of its canonical content (decompressed
    IDX bytes; CIFAR-10 binary-version bytes) and ``remote`` the file under the
    dataset's base URL that holds it (for CIFAR-10, the archive).
    """

    key: str
    sha256: str
    remote: str


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its files, its folder names under a data root, the Keras cache layout."""

    name: str
    kind: str  # "idx" or "cifar"
    files: tuple[DataFile, ...]
    class_names: tuple[str, ...]
    folders: tuple[tuple[str, str], ...]  # (folder under a data root, format), in preference order
    keras: tuple[tuple[str, str], ...]  # (path under the Keras cache, format)
    base_url: str = ""  # where the ``remote`` files are downloaded from
    archive: RemoteArchive | None = None  # the one archive holding every file, if so

    def sha256(self, key: str) -> str:
        """The known checksum of file ``key``."""
        return next(f.sha256 for f in self.files if f.key == key)


def _idx(key: str, sha256: str) -> DataFile:
    return DataFile(key, sha256, f"{key}.gz")


def _cifar(key: str, sha256: str) -> DataFile:
    return DataFile(key, sha256, CIFAR_ARCHIVE)


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist",
        "idx",
        (
            _idx("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            _idx("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            _idx("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            _idx("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        ),
        tuple(str(d) for d in range(10)),
        (("mnist", "idx-gz"),),
        (("mnist.npz", "keras-npz"),),
        base_url="https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion_mnist": DatasetSpec(
        "fashion_mnist",
        "idx",
        (
            _idx("train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
            _idx("train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
            _idx("t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
            _idx("t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
        ),
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        (("fashion-mnist", "idx-gz"), ("fashion_mnist", "idx-gz")),
        (("fashion-mnist", "idx-gz"),),
        base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    "cifar10": DatasetSpec(
        "cifar10",
        "cifar",
        (
            _cifar("data_batch_1", "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5"),
            _cifar("data_batch_2", "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed"),
            _cifar("data_batch_3", "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67"),
            _cifar("data_batch_4", "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48"),
            _cifar("data_batch_5", "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add"),
            _cifar("test_batch", "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b"),
            _cifar("batches.meta", "558e74b5e208382e186da55784b4bac2cd52e558448e1b5800990fdb28ed8033"),
        ),
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        (("cifar-10-batches-bin", "cifar-bin"), ("cifar-10-batches-py", "cifar-pickle")),
        # Keras 2 extracted the archive here; Keras 3 one level down.
        (("cifar-10-batches-py", "cifar-pickle"), ("cifar-10-batches-py-target/cifar-10-batches-py", "cifar-pickle")),
        base_url="https://www.cs.toronto.edu/~kriz/",
        archive=RemoteArchive(CIFAR_ARCHIVE, "c32a1d4ab5d03f1284b67883e8d87530"),
    ),
}


def dataset_names() -> list[str]:
    """The names :func:`load_dataset` accepts."""
    return list(DATASETS)


def get_spec(name: str) -> DatasetSpec:
    """The declaration of dataset ``name``.

    Raises:
        UnknownNameError: ``name`` is not a dataset (the message lists the valid ones).
    """
    if name not in DATASETS:
        raise UnknownNameError("dataset", name, dataset_names())
    return DATASETS[name]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset: uint8 images and labels (read-only), class names, where it came from.

    ``source`` is the folder read (for Keras' ``mnist.npz``, that file);
    ``format`` one of ``idx-gz``, ``keras-npz``, ``cifar-bin``, ``cifar-pickle``.
    """

    name: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    class_names: tuple[str, ...]
    source: str
    format: str


def _candidates(spec: DatasetSpec, data_dir: str | os.PathLike[str] | None) -> list[Candidate]:
    keys = tuple(f.key for f in spec.files)
    roots = [Path(p).expanduser() for p in os.environ.get("INITLAB_DATA", "").split(":") if p]
    places: list[tuple[Path, str]] = []
    if data_dir is not None:
        explicit = Path(data_dir).expanduser()
        places += [(explicit / folder, f) for folder, f in spec.folders]
        places += [(explicit, f) for f in dict.fromkeys(f for _, f in spec.folders)]
    for root in [*roots, project_data_dir()]:
        places += [(root / folder, f) for folder, f in spec.folders]
    if spec.name == "fashion_mnist":
        places.append((DEBIAN_FASHION, "idx-gz"))
    places += [(keras_cache_dir() / rel, f) for rel, f in spec.keras]
    return [Candidate(path, f, keys) for path, f in dict.fromkeys(places)]


def search_paths(name: str, data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Every place :func:`load_dataset` looks for ``name``, in order.

    Args:
        name: a dataset name.
        data_dir: a folder to look in first (it, or its dataset sub-folder).

    Returns:
        Folders (and, for MNIST, Keras' ``mnist.npz``), without repeats.
    """
    return list(dict.fromkeys(c.path for c in _candidates(get_spec(name), data_dir)))


def locate(name: str, data_dir: str | os.PathLike[str] | None = None) -> tuple[Candidate | None, list[str]]:
    """The first place holding every file of ``name``, and a line per place looked before it.

    A place holding only some of the files is skipped; its line names the missing ones.
    """
    looked: dict[Path, str] = {}
    for cand in _candidates(get_spec(name), data_dir):
        files = set(cand.files().values())
        missing = sorted(p.name for p in files if not p.is_file())
        if not missing:
            return cand, list(looked.values())
        if len(missing) < len(files):
            looked[cand.path] = f"{cand.path} (incomplete: missing {', '.join(missing)})"
        else:
            looked.setdefault(cand.path, str(cand.path))
    return None, list(looked.values())


def not_found_hint(name: str) -> str:
    """How to get dataset ``name`` when it is found nowhere."""
    ways = [
        "point INITLAB_DATA at a folder holding mnist/, fashion-mnist/ or cifar-10-batches-bin/",
        "or allow the download into the project's data/ (unset INITLAB_OFFLINE, "
        "or pass download=True, or run `initlab data fetch`)",
    ]
    if name == "fashion_mnist":
        ways.insert(0, "install Debian's package: apt-get install dataset-fashion-mnist")
    return "To get it: " + "; ".join(ways) + "."


def _verified(spec: DatasetSpec, cand: Candidate, key: str) -> bytes:
    path, expected = cand.files()[key], spec.sha256(key)
    how = cand.hashed_as()
    try:
        content = cand.canonical(key)
    except fmt.Unreadable as exc:
        detail = f"{exc.detail}; {how}" if how else exc.detail
        raise ChecksumError(str(path), expected, fmt.sha256(exc.content), detail) from None
    actual = fmt.sha256(content)
    if actual != expected:
        raise ChecksumError(str(path), expected, actual, how)
    return content


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _read(spec: DatasetSpec, cand: Candidate) -> Dataset:
    """Verify every file of ``cand``, then parse them (nothing is parsed before its check)."""
    content = {f.key: _verified(spec, cand, f.key) for f in spec.files}
    if spec.kind == "idx":
        x_train, y_train, x_test, y_test = (fmt.parse_idx(content[k]) for k in fmt.NPZ_MEMBERS)
    else:
        parts = [fmt.parse_cifar_bin(content[f"data_batch_{i}"]) for i in range(1, 6)]
        x_train, y_train = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        x_test, y_test = fmt.parse_cifar_bin(content["test_batch"])
    arrays = [_frozen(a) for a in (x_train, y_train, x_test, y_test)]
    return Dataset(spec.name, *arrays, spec.class_names, str(cand.path), cand.format)


# The last verified load from each place, with what would change if a file
# changed (resolved path, size, mtime, inode): a second load in the same
# process (a notebook re-running a cell) does not rehash, a changed file does.
_VERIFIED: dict[tuple[str, Candidate], tuple[tuple, Dataset]] = {}


def _load_verified(spec: DatasetSpec, cand: Candidate) -> Dataset:
    stamp = tuple(
        (str(p.resolve()), s.st_size, s.st_mtime_ns, s.st_ino)
        for p in dict.fromkeys(cand.files().values())
        for s in [p.stat()]
    )
    memo = _VERIFIED.get((spec.name, cand))
    if memo is None or memo[0] != stamp:
        _VERIFIED.pop((spec.name, cand), None)  # never hold a stale copy while reading the new one
        memo = _VERIFIED[(spec.name, cand)] = (stamp, _read(spec, cand))
    return memo[1]


def load_dataset(name: str, data_dir: str | os.PathLike[str] | None = None, download: bool | None = None) -> Dataset:
    """Load a dataset as uint8 arrays, every file verified first.

    Args:
        name: ``mnist``, ``fashion_mnist`` or ``cifar10``.
        data_dir: a folder to look in first (see :func:`search_paths`).
        download: allow downloading into the project's ``data/`` when the dataset
            is found nowhere (default: allowed unless ``INITLAB_OFFLINE=1``).

    Returns:
        The dataset; its arrays are read-only (shared between loads).

    Raises:
        UnknownNameError: an unknown name (the message lists the valid ones).
        DatasetNotFoundError: found nowhere and not downloaded (lists every place looked).
        ChecksumError: a file's content does not match its known checksum.
    """
    spec = get_spec(name)
    cand, looked = locate(name, data_dir)
    if cand is None:
        if download is None:
            download = not offline()
        if not download:
            raise DatasetNotFoundError(name, looked, not_found_hint(name))
        folder, fmt_name = spec.folders[0]
        cand = Candidate(fetch(spec, project_data_dir() / folder), fmt_name, tuple(f.key for f in spec.files))
    return _load_verified(spec, cand)


# Preprocessing: separate, explicit steps.


def scale(x: np.ndarray) -> np.ndarray:
    """uint8 pixels to float32 in [0, 1]."""
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise InvalidArgumentError("x", f"<array of {x.dtype}>", "must be a uint8 array of pixels")
    return x.astype(np.float32) / np.float32(255.0)


def flatten(x: np.ndarray) -> np.ndarray:
    """``(N, ...)`` to ``(N, features)``."""
    return np.reshape(x, (len(x), -1))


def add_channel_axis(x: np.ndarray) -> np.ndarray:
    """Grayscale ``(N, H, W)`` to ``(N, H, W, 1)``."""
    if np.ndim(x) != 3:
        raise InvalidArgumentError("x", f"<array of shape {np.shape(x)}>", "must have shape (N, H, W)")
    return np.asarray(x)[..., np.newaxis]


def channel_stats(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std (float64) on the [0, 1] scale.

    Args:
        x_train: uint8 pixels (scaled here) or already-scaled floats, channels
            last; grayscale ``(N, H, W)`` counts as one channel.

    Returns:
        ``(mean, std)``, each of shape ``(channels,)``.
    """
    x = np.asarray(x_train)
    if x.ndim not in (3, 4):
        raise InvalidArgumentError(
            "x_train", f"<array of shape {x.shape}>", "must have shape (N, H, W) or (N, H, W, C)"
        )
    rows = x.reshape(-1, 1 if x.ndim == 3 else x.shape[-1])
    step = 1 << 18  # chunks keep temporaries small (CIFAR-10: 51M pixels)
    chunks = [rows[i : i + step] for i in range(0, len(rows), step)]
    if x.dtype == np.uint8:  # exact and fast: a 256-bin histogram per channel
        counts = sum(np.stack([np.bincount(c[:, k], minlength=256) for k in range(rows.shape[1])]) for c in chunks)
        levels = np.arange(256) / 255
        mean = counts @ levels / len(rows)
        return mean, np.sqrt((counts * (levels - mean[:, None]) ** 2).sum(axis=1) / len(rows))
    mean = sum(c.sum(axis=0, dtype=np.float64) for c in chunks) / len(rows)
    return mean, np.sqrt(sum(np.square(c - mean).sum(axis=0) for c in chunks) / len(rows))


def normalize_channels(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` per channel (uint8 ``x`` is scaled first), as float32."""
    x = scale(x) if np.asarray(x).dtype == np.uint8 else np.asarray(x, dtype=np.float32)
    mean, std = np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)
    channels = 1 if x.ndim == 3 else x.shape[-1]
    if mean.size != channels or std.size != channels:
        raise InvalidArgumentError("mean", mean.tolist(), f"and `std` must have one value per channel ({channels})")
    if np.any(std <= 0):
        raise InvalidArgumentError("std", std.tolist(), "must be positive")
    if x.ndim == 3:
        mean, std = mean.reshape(()), std.reshape(())
    return (x - mean) / std


# The report behind `initlab data check`.


@dataclass(frozen=True)
class CheckResult:
    """One dataset's status: ``ok``, ``missing`` or ``corrupted``."""

    name: str
    status: str
    where: str = ""
    format: str = ""
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    class_counts: tuple[int, ...] = ()
    n_files: int = 0
    message: str = ""


def check_datasets(data_dir: str | os.PathLike[str] | None = None) -> list[CheckResult]:
    """Find and verify every dataset, as :func:`load_dataset` would; never downloads."""
    out = []
    for name in dataset_names():
        spec = get_spec(name)
        cand, looked = locate(name, data_dir)
        if cand is None:
            err = DatasetNotFoundError(name, looked, not_found_hint(name))
            out.append(CheckResult(name, "missing", message=str(err)))
            continue
        try:
            d = _load_verified(spec, cand)
        except ChecksumError as exc:
            out.append(CheckResult(name, "corrupted", str(cand.path), cand.format, message=str(exc)))
            continue
        shapes = {k: getattr(d, k).shape for k in ("x_train", "y_train", "x_test", "y_test")}
        counts = tuple(int(c) for c in np.bincount(d.y_train, minlength=len(d.class_names)))
        out.append(CheckResult(name, "ok", d.source, d.format, shapes, counts, len(spec.files)))
    return out


def format_check(results: list[CheckResult]) -> str:
    """A readable report of :func:`check_datasets`."""
    lines = []
    for r in results:
        lines.append(f"{r.name}: {r.status}" + (f"  {r.where} ({r.format})" if r.where else ""))
        if r.status == "ok":
            lines.append("  shapes:       " + ", ".join(f"{k} {v}" for k, v in r.shapes.items()))
            lines.append(f"  class counts: {' '.join(map(str, r.class_counts))} (train)")
            lines.append(f"  checksums:    all {r.n_files} files match their sha256")
        else:
            lines += ["  " + line for line in r.message.splitlines()]
    return "\n".join(lines)
