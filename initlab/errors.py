"""The exceptions initlab raises: one root, subclasses with structured fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


class InitlabError(Exception):
    """Root of every error initlab raises on purpose."""


class UnknownNameError(InitlabError, ValueError):
    """A name (initializer, model, dataset) is not in its registry."""

    def __init__(self, kind: str, name: object, valid: Iterable[str], *, hint: str = ""):
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        more = f" {hint}" if hint else ""
        super().__init__(f"Unknown {kind} {name!r}. Valid {kind} names: {', '.join(self.valid)}.{more}")


class InvalidArgumentError(InitlabError, ValueError):
    """An argument has a value outside its domain."""

    def __init__(self, argument: str, value: object, requirement: str):
        self.argument = argument
        self.value = value
        super().__init__(f"Argument `{argument}` {requirement}. Received: {argument}={value!r}")


class DatasetNotFoundError(InitlabError, FileNotFoundError):
    """No copy of a dataset was found in any of the places searched."""

    def __init__(self, dataset: str, searched: Iterable[str], hint: str):
        self.dataset = dataset
        self.searched = list(searched)
        places = "\n".join(f"  - {p}" for p in self.searched)
        super().__init__(f"Dataset {dataset!r} was not found. Looked in:\n{places}\n{hint}")


class ChecksumError(InitlabError):
    """A data file's content does not match its known checksum."""

    def __init__(self, path: str, expected: str, actual: str, detail: str = "", algorithm: str = "sha256"):
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


class MissingRunsError(InitlabError, LookupError):
    """Runs asked for from the cache alone are not in it.

    :meth:`for_study` builds one for a study; its fields say which runs are missing
    (``missing``: ``(init, seed)`` pairs) of how many (``total``), of which study
    (``dataset``, ``model``) and where the cache is (``cache_root``).
    """

    def __init__(
        self,
        message: str,
        *,
        dataset: str = "",
        model: str = "",
        missing: Iterable[tuple[str, int]] = (),
        total: int = 0,
        cache_root: str = "",
    ):
        self.dataset = dataset
        self.model = model
        self.missing = [(str(init), int(seed)) for init, seed in missing]
        self.total = int(total)
        self.cache_root = str(cache_root)
        super().__init__(message)

    @classmethod
    def for_study(
        cls,
        dataset: str,
        model: str,
        missing: Iterable[tuple[str, int]],
        *,
        total: int,
        cache_root: str,
        shown: int = 5,
    ) -> "MissingRunsError":
        """The error for a study whose ``missing`` runs (of ``total``) are not in ``cache_root``."""
        missing = [(str(init), int(seed)) for init, seed in missing]
        listed = ", ".join(f"{init} seed {seed}" for init, seed in missing[:shown])
        more = f" and {len(missing) - shown} more" if len(missing) > shown else ""
        return cls(
            f"{len(missing)} of {total} runs of the {dataset}/{model} study are not in the cache "
            f"{cache_root} ({listed}{more}); nothing was trained",
            dataset=dataset,
            model=model,
            missing=missing,
            total=total,
            cache_root=cache_root,
        )


class UnsupportedLayerError(InitlabError, ValueError):
    """A model holds a layer (or lacks one) that a model-level procedure cannot handle."""

    def __init__(self, procedure: str, layer: str, layer_type: str, reason: str):
        self.procedure = procedure
        self.layer = layer
        self.layer_type = layer_type
        super().__init__(f"{procedure} cannot handle layer {layer!r} ({layer_type}): {reason}.")


class WorkersNotStartedError(InitlabError, RuntimeError):
    """The Dask workers of a local cluster did not start."""

    def __init__(self, reason: str):
        super().__init__(
            f"the Dask workers did not start ({reason}): a script that trains runs its work under "
            '`if __name__ == "__main__":`, or sets INITLAB_WORKERS=1 to train in its own process'
        )


class NotebookFailedError(InitlabError):
    """A notebook stopped before its last cell; its target was not touched."""

    def __init__(self, notebook: str, cell: int | None, error: str, partial: Path | None):
        self.notebook, self.cell, self.error, self.partial = notebook, cell, error, partial
        where = f"at cell {cell}" if cell is not None else "before its first cell"
        kept = f"; partial output kept in {partial}" if partial else ""
        super().__init__(f"notebook {notebook} failed {where} ({error}); it was not replaced{kept}")


class UnknownParameterError(InitlabError, ValueError):
    """A swept name is not in the notebook's ``parameters`` cell."""

    def __init__(self, notebook: str, name: str, defaults: Mapping[str, Any]):
        listed = ", ".join(f"{k}={v!r}" for k, v in defaults.items()) or "none"
        super().__init__(f"notebook {notebook} has no parameter {name!r}; its parameters (with defaults): {listed}")


class SweepFailedError(InitlabError):
    """Some points of a sweep failed; the others completed and were collected."""

    def __init__(self, failed: Sequence[dict[str, Any]], total: int, out: Path):
        self.failed = list(failed)
        lines = [f"{len(failed)} of {total} points failed (results of the others are in {out}):"]
        lines += [f"  {p['slug']}: cell {p.get('cell')}: {p.get('error')}" for p in failed]
        super().__init__("\n".join(lines))


class LedgerError(InitlabError, ValueError):
    """The claims ledger is malformed or fails its checks; ``problems`` lists each, one line apiece."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        listed = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"The claims ledger has {len(self.problems)} problem(s):\n{listed}")


class UnknownClaimError(InitlabError, ValueError):
    """A verdict names a claim id the ledger does not hold; ``close`` lists the ids that look like it."""

    def __init__(self, claim_id: object, close: Sequence[str]):
        self.claim_id = claim_id
        self.close = list(close)
        hint = f"close matches: {', '.join(self.close)}" if self.close else "no id of the ledger is close"
        super().__init__(f"Claim {claim_id!r} is not in the claims ledger (initlab/claims/ledger.yaml); {hint}.")
