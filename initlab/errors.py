"""The exceptions initlab raises: one root, subclasses with structured fields."""

from __future__ import annotations

from collections.abc import Iterable


class InitlabError(Exception):
    """Root of every error initlab raises on purpose."""


class UnknownNameError(InitlabError, ValueError):
    """A name (initializer, model, dataset) is not in its registry."""

    def __init__(self, kind: str, name: object, valid: Iterable[str]):
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(
            f"Unknown {kind} {name!r}. Valid {kind} names: {', '.join(self.valid)}."
        )


class InvalidArgumentError(InitlabError, ValueError):
    """An argument has a value outside its domain."""

    def __init__(self, argument: str, value: object, requirement: str):
        self.argument = argument
        self.value = value
        super().__init__(
            f"Argument `{argument}` {requirement}. Received: {argument}={value!r}"
        )


class DatasetNotFoundError(InitlabError, FileNotFoundError):
    """No copy of a dataset was found in any of the places searched."""

    def __init__(self, dataset: str, searched: Iterable[str], hint: str):
        self.dataset = dataset
        self.searched = list(searched)
        places = "\n".join(f"  - {p}" for p in self.searched)
        super().__init__(
            f"Dataset {dataset!r} was not found. Looked in:\n{places}\n{hint}"
        )


class ChecksumError(InitlabError):
    """A data file's content does not match its known checksum."""

    def __init__(self, path: str, expected: str, actual: str, detail: str = "",
                 algorithm: str = "sha256"):
        self.path = path
        self.expected = expected
        self.actual = actual
        self.algorithm = algorithm
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"Data file {path} is corrupted{extra}: expected {algorithm} {expected}, "
            f"got {actual}. It was not used; delete it and fetch it again."
        )


class CacheError(InitlabError):
    """A cached result could not be read; it is recomputed, never used."""


class UnsupportedLayerError(InitlabError, ValueError):
    """A model holds a layer (or lacks one) that a model-level procedure cannot handle."""

    def __init__(self, procedure: str, layer: str, layer_type: str, reason: str):
        self.procedure = procedure
        self.layer = layer
        self.layer_type = layer_type
        super().__init__(f"{procedure} cannot handle layer {layer!r} ({layer_type}): {reason}.")
