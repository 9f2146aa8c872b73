"""The ``initlab`` command: data checks, registries, single studies, the reproduction."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from initlab.data.datasets import check_datasets, dataset_names, format_check, load_dataset
from initlab.errors import InitlabError, InvalidArgumentError, SweepFailedError
from initlab.files import replace_files
from initlab.pipeline import sweep
from initlab.pipeline.progress import progress_wanted
from initlab.pipeline.sweep import parse_value
from initlab.stats import final_epochs, summarize

if TYPE_CHECKING:
    import pandas as pd


def _table(rows: list[dict], columns: Sequence[str]) -> str:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns), "  ".join("-" * widths[c] for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


OUTPUT_SUFFIXES = (".csv", ".json")


def _output_path(text: str) -> Path:
    """The file ``run --out`` names, checked before any work is done.

    The name must end in .csv or .json; the path must not be a directory or another
    non-file; and the nearest existing folder on its way must accept a new file (probed
    by creating and removing one, which also catches read-only file systems and /proc).
    Folders that do not exist yet are created when the results are written.

    Returns:
        The path with symbolic links resolved (where the file will be written).

    Raises:
        InvalidArgumentError: naming the path and why it cannot be written.
    """

    def refuse(why: str) -> InvalidArgumentError:
        return InvalidArgumentError("--out", text, why)

    if Path(text).suffix.lower() not in OUTPUT_SUFFIXES:
        raise refuse("must be a file name ending in .csv or .json")
    target = Path(os.path.realpath(text))
    if target.is_dir():
        raise refuse(f"must be a file, but {target} is a directory")
    if os.path.lexists(target) and not target.is_file():
        raise refuse(f"must be a regular file, but {target} is not one")
    folder = target.parent
    while not os.path.lexists(folder):
        folder = folder.parent
    if not folder.is_dir():
        raise refuse(f"must be inside a folder, but {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".initlab-probe-", dir=folder)
    except OSError as exc:
        raise refuse(f"must be writable, but {folder} does not accept new files ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)
    return target


def _write_results(df: pd.DataFrame, target: Path, suffix: str) -> None:
    """Write the results to ``target`` (JSON records for ``.json``, else CSV) atomically.

    The table goes to a temporary file in ``target``'s folder and is moved into place
    with :func:`os.replace` (:func:`initlab.files.replace_files`), so ``target`` is
    never left half written.
    """

    text = df.to_json(orient="records", indent=1) if suffix == ".json" else df.to_csv(index=False)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        replace_files({target: text})
    except OSError as exc:
        raise InvalidArgumentError(
            "--out", str(target), f"could not be written after training ({exc.strerror or exc})"
        ) from None


THREADS_HELP = (
    "threads per unit of work (default $INITLAB_THREADS, else 1): units train at once on one "
    "Dask worker per THREADS cores"
)


def cmd_data_check(args: argparse.Namespace) -> int:
    results = check_datasets(data_dir=args.data_dir)
    print(format_check(results))
    return 0 if all(r.status == "ok" for r in results) else 1


def cmd_data_fetch(args: argparse.Namespace) -> int:
    for name in args.datasets or dataset_names():
        data = load_dataset(name, data_dir=args.data_dir)
        print(f"{name}: ok ({data.format}, {data.source})")
    return 0


def cmd_inits(args: argparse.Namespace) -> int:
    from initlab.nets.initializers import describe_initializers

    rows = describe_initializers()
    print(_table(rows, ["name", "distribution", "variance", "defaults"]))
    print(
        "\nYour own: --init package.module:Name, or 'package.module:Name{\"gain\": 0.5}' with JSON keyword "
        "arguments (a keras.initializers.Initializer subclass or instance, importable from PYTHONPATH)."
    )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from initlab.nets.models import describe_models

    print(_table(describe_models(), ["name", "source", "options", "architecture"]))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import pandas as pd

    from initlab.training import RESULT_COLUMNS, Study

    out = _output_path(args.out) if args.out else None  # before any training
    study = Study(
        args.dataset,
        args.model,
        tuple(args.init),
        seeds=tuple(args.seeds),
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_split=args.validation_split,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        engine=args.engine,
        momentum=args.momentum,
        nesterov=args.nesterov,
    )
    study.specs()  # every argument checked before a scheduler is contacted
    client = None
    if args.scheduler:
        from distributed import Client

        client = Client(args.scheduler)
    try:
        df = study.run(cache=not args.no_cache, progress=True, client=client, threads=args.threads)
    finally:
        if client is not None:
            client.close()
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        cols = [c for c in RESULT_COLUMNS if c not in ("dataset", "model", "diverged_epoch")]
        print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        if len(args.seeds) > 1:
            print()
            print(summarize(df, "test_accuracy").to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if out is not None:
        _write_results(df, out, Path(args.out).suffix.lower())
        print(f"wrote {args.out}")
    diverged = final_epochs(df)["status"].eq("diverged").sum()
    if diverged:
        print(f"{diverged} run(s) diverged (recorded, not an error)")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from initlab.pipeline.reproduce import reproduce

    return reproduce(
        quick=args.quick,
        notebooks=args.notebooks,
        update_baselines=args.update_baselines,
        summary_only=args.summary_only,
        threads=args.threads,
        progress=progress_wanted(args.progress),
    )


def _sweep_grid(pairs: Sequence[Sequence[str]] | None) -> dict:

    grid: dict = {}
    for pair in pairs or []:
        name, *values = pair
        if not values:
            raise InvalidArgumentError("-p", name, "needs a name and at least one value (-p NAME VALUE [VALUE ...])")
        if name in grid:
            raise InvalidArgumentError("-p", name, "names each parameter once (list all its values after one -p)")
        grid[name] = [parse_value(v) for v in values]
    return grid


def cmd_sweep(args: argparse.Namespace) -> int:

    if args.notebook == "collect":
        if not args.dir:
            raise InvalidArgumentError("DIR", None, "is needed: initlab sweep collect DIR")
        table = sweep.collect(args.dir)
        print(
            f"{table['point'].nunique() if len(table) else 0} points, {len(table)} rows: "
            f"{Path(args.dir) / 'sweep.csv'} and sweep.parquet"
        )
        return 0
    grid = _sweep_grid(args.param)
    sweep.check_grid(args.notebook, grid)
    points = sweep.expand(grid, args.zip)
    if args.dry_run:
        for p in points:
            print(f"{p.slug}: " + ", ".join(f"{k}={v!r}" for k, v in p.params.items()))
        print(f"{len(points)} points")
        return 0
    try:
        table = sweep.run(
            args.notebook,
            grid,
            out=args.out or args.dir,
            zip_values=args.zip,
            workers=args.workers,
            scheduler=args.scheduler,
            retries=args.retries,
        )
    except SweepFailedError as exc:
        print(f"initlab: {exc}", file=sys.stderr)
        return 1
    print(
        f"{table['point'].nunique()} points completed; table in "
        f"{args.out or args.dir or 'data/sweeps/' + Path(args.notebook).stem}/sweep.csv"
    )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from initlab.training.bench import main as bench

    return bench(quick=args.quick, models=args.models, stacks=args.stacks, epochs=args.epochs)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``initlab`` command."""
    parser = argparse.ArgumentParser(
        prog="initlab", description="How initial weights decide whether and how fast a network learns."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser(
        "data", help="check or fetch the datasets", description="Check or fetch MNIST, Fashion-MNIST and CIFAR-10."
    )
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    check = data_sub.add_parser(
        "check",
        help="where each dataset was found, shapes, class counts, checksums",
        description="For each dataset: where it was found, its shapes, class counts and "
        "checksum status. Exit status 1 if any is missing or corrupted. Never "
        "downloads.",
    )
    check.add_argument("--data-dir", help="look here first")
    check.set_defaults(func=cmd_data_check)
    fetch = data_sub.add_parser(
        "fetch",
        help="find each dataset, downloading what is missing (unless INITLAB_OFFLINE=1)",
        description="Find each dataset, downloading what is missing into data/ unless INITLAB_OFFLINE=1.",
    )
    fetch.add_argument("datasets", nargs="*", help="dataset names (default: all)")
    fetch.add_argument("--data-dir", help="look here first")
    fetch.set_defaults(func=cmd_data_fetch)

    sub.add_parser(
        "inits",
        help="list initializers with their distribution and variance",
        description="List every registered initializer with its distribution, variance formula and defaults.",
    ).set_defaults(func=cmd_inits)
    sub.add_parser(
        "models", help="list model names", description="List the architectures `initlab run --model` accepts."
    ).set_defaults(func=cmd_models)

    run = sub.add_parser(
        "run",
        help="train initializers x seeds and print the results",
        description="Train one model per initializer and seed and print one row per epoch.",
    )
    run.add_argument("--dataset", required=True, help="mnist, fashion_mnist or cifar10")
    run.add_argument("--model", required=True, help="see `initlab models`")
    run.add_argument(
        "--init",
        required=True,
        nargs="+",
        help="one or more initializer names (see `initlab inits`) or your own as package.module:Name, "
        "optionally with JSON keyword arguments: 'mypkg.inits:ScaledHe{\"gain\": 0.1}'",
    )
    run.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (default: 0)")
    run.add_argument("--epochs", type=_positive_int, default=5, help="epochs (default: 5)")
    run.add_argument("--batch-size", type=_positive_int, default=32, help="batch size (default: 32)")
    run.add_argument(
        "--validation-split",
        type=float,
        default=0.2,
        help="held-out fraction at the end of the training set (default: 0.2)",
    )
    run.add_argument("--train-limit", type=_positive_int, help="use only the first N training examples")
    run.add_argument("--test-limit", type=_positive_int, help="use only the first N test examples")
    run.add_argument(
        "--optimizer", default="adam", help="adam (default) or sgd (an unknown name is refused with the list)"
    )
    run.add_argument(
        "--learning-rate", type=float, help="optimizer learning rate (default: the optimizer's Keras default)"
    )
    run.add_argument("--momentum", type=float, default=0.0, help="SGD's momentum in [0, 1) (default: 0)")
    run.add_argument("--nesterov", action="store_true", help="Nesterov momentum (with --momentum > 0)")
    run.add_argument("--out", help="write the table to this .csv or .json file")
    run.add_argument(
        "--engine",
        default="auto",
        help="auto (default): the stacked engine where it applies, keras fit otherwise; or an "
        "engine's name (an unknown one is refused with the list)",
    )
    run.add_argument("--no-cache", action="store_true", help="train afresh even if a cached run exists")
    run.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="train the study's stacks on the Dask cluster of this scheduler (results and cache stay here)",
    )
    run.add_argument("--threads", type=_positive_int, help=THREADS_HELP)
    run.set_defaults(func=cmd_run)

    bench = sub.add_parser(
        "bench",
        help="time the stacked engine against keras fit",
        description="Time, in one process on the same MNIST data: keras fit per model, the "
        "stacked engine at several stack sizes K, and the float32 matmul rate (the compute "
        "limit). Prints seconds per model, speed-ups and the fraction of the limit reached.",
    )
    bench.add_argument("--quick", action="store_true", help="a small subset and K up to 8 (under a minute)")
    bench.add_argument("--models", nargs="+", help="models to time (default: mlp_128 mlp_512_256_128_64 cnn_small)")
    bench.add_argument(
        "--stacks", type=_positive_int, nargs="+", help="stack sizes K (default: 1 2 4 8 16 32; the CNN: 1 2 4 8)"
    )
    bench.add_argument("--epochs", type=_positive_int, help="epochs per measurement (default: 1)")
    bench.set_defaults(func=cmd_bench)

    sw = sub.add_parser(
        "sweep",
        help="execute a notebook at every point of a parameter grid (papermill on Dask)",
        description="Execute NOTEBOOK with papermill at every combination of the values given "
        "with -p (or, with --zip, the i-th values together), each point in a kernel of "
        "its own on a Dask LocalCluster (or the cluster at --scheduler), and collect "
        "what the notebooks record into DIR/sweep.csv and sweep.parquet. "
        "`initlab sweep collect DIR` rebuilds the table.",
    )
    sw.add_argument("notebook", metavar="NOTEBOOK", help="the notebook to sweep (or `collect`)")
    sw.add_argument("dir", nargs="?", metavar="DIR", help="with `collect`: the sweep folder")
    sw.add_argument(
        "-p",
        "--param",
        nargs="+",
        action="append",
        metavar=("NAME", "VALUE"),
        help="a parameter and its values, read as papermill's -p does (YAML/JSON for lists: '[0, 1]')",
    )
    sw.add_argument("--zip", action="store_true", help="take the i-th values of every parameter together")
    sw.add_argument("--out", help="the sweep folder (default data/sweeps/<notebook name>)")
    sw.add_argument("--workers", type=_positive_int, default=2, help="LocalCluster worker processes (default 2)")
    sw.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    sw.add_argument(
        "--retries",
        type=_positive_int,
        default=2,
        help="how often a point lost with its worker is rerun on another (default 2)",
    )
    sw.add_argument("--dry-run", action="store_true", help="print the points and exit")
    sw.set_defaults(func=cmd_sweep)

    rep = sub.add_parser(
        "reproduce",
        help="execute every notebook and write the summary",
        description="Execute every notebook in notebooks/ with papermill at its defaults (or small "
        "subsets with --quick).",
    )
    rep.add_argument("--quick", action="store_true", help="small subsets, 1-2 epochs and seeds")
    rep.add_argument("--notebooks", nargs="*", help="only these notebooks (file names or numbers)")
    rep.add_argument(
        "--update-baselines",
        action="store_true",
        help="with --quick: copy the executed notebooks to tests/baselines/ (the nbval references)",
    )
    rep.add_argument(
        "--summary-only", action="store_true", help="do not execute; rebuild the summary table from the cached runs"
    )
    rep.add_argument("--threads", type=_positive_int, help=THREADS_HELP)
    rep.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="on stderr: the running notebook's cells and a bar over the notebooks with the time left "
        "(default: on when stderr is a terminal)",
    )
    rep.set_defaults(func=cmd_reproduce)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``initlab`` command."""

    # TensorFlow's C++ notes (no CUDA driver, cuInit, XLA, tf.data's NodeDef) stay off stderr, here and in every
    # process this one starts (kernels, Dask workers); importing this module loads no TensorFlow, so this comes
    # first. A level the caller set is kept (TF_CPP_MIN_LOG_LEVEL=0 shows them all); an empty one, which
    # TensorFlow reads as 0, is not a choice.
    if not os.environ.get("TF_CPP_MIN_LOG_LEVEL"):
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InitlabError as exc:
        print(f"initlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("initlab: interrupted; finished runs are kept in the cache", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
