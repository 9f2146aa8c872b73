"""Datasets: where they are found, how their files are read and verified, and their download."""

from initlab.data.datasets import (
    CIFAR_ARCHIVE,
    DATASETS,
    DEBIAN_FASHION,
    CheckResult,
    DataFile,
    Dataset,
    DatasetSpec,
    add_channel_axis,
    channel_stats,
    check_datasets,
    dataset_names,
    flatten,
    format_check,
    get_spec,
    keras_cache_dir,
    load_dataset,
    locate,
    normalize_channels,
    not_found_hint,
    scale,
    search_paths,
)
from initlab.data.download import RemoteArchive, fetch
from initlab.data.formats import (
    CIFAR_RECORD,
    NPZ_MEMBERS,
    Candidate,
    Unreadable,
    cifar_records,
    gunzip,
    parse_cifar_bin,
    parse_idx,
    read_cifar_meta_pickle,
    read_cifar_pickle,
    read_npz_member,
    sha256,
    to_idx,
)

__all__ = ["CIFAR_RECORD", "NPZ_MEMBERS", "Unreadable", "sha256", "gunzip", "parse_idx", "to_idx", "parse_cifar_bin", "cifar_records", "read_cifar_pickle", "read_cifar_meta_pickle", "read_npz_member", "Candidate", "RemoteArchive", "fetch", "DEBIAN_FASHION", "keras_cache_dir", "CIFAR_ARCHIVE", "DataFile", "DatasetSpec", "DATASETS", "dataset_names", "get_spec", "Dataset", "search_paths", "locate", "not_found_hint", "load_dataset", "scale", "flatten", "add_channel_axis", "channel_stats", "normalize_channels", "CheckResult", "check_datasets", "format_check"]
