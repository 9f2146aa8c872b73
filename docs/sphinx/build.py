"""Build initlab's static site (``make site``): ``python docs/sphinx/build.py [--out site]``.

The pages are laid out in a staging folder that mirrors the repository, so the links between them are the
ones GitHub follows: ``README.md``, ``docs/*.md``, ``data/README.md``, the notebooks and
``notebooks/summary.md``, plus a landing page, the claims page and the API reference. Sphinx with MyST-NB
builds it (warnings are errors) into a working folder, which then replaces ``--out``. Notebooks are shown with
their committed outputs; the only change is that the outputs holding nothing but initlab's machine-readable
records (a MIME type Jupyter draws nothing for) are left out, as Jupyter shows them.

The working folder (``build/site`` by default) keeps the staging folder and Sphinx's caches, so a second
build only rereads what changed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RECORD_MIME = "application/vnd.initlab.record+json"  # initlab.pipeline.recorded.MIME
MATHJAX_DIST = "sphinx-mathjax-offline"
MATHJAX_ENTRY = "tex-chtml.js"
CLAIMS_DOC = "notebooks/claims"
STAMP = ".initlab-site"  # written into the site last; its time stamp says when the site was built


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"initlab_site_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


claims_page = _load("claims_page")


def display_copy(notebook: dict) -> dict:
    """The notebook as Jupyter shows it: outputs whose only MIME type is initlab's record are left out."""
    out = dict(notebook)
    out["cells"] = []
    for cell in notebook["cells"]:
        if cell.get("cell_type") == "code":
            kept = [o for o in cell.get("outputs", []) if set(o.get("data", {"": None})) != {RECORD_MIME}]
            cell = {**cell, "outputs": kept}
        out["cells"].append(cell)
    return out


def ledger_page() -> str:
    """The claims page from the ledger alone (``initlab.claims.ledger.load_ledger()``), without verdicts."""
    from initlab.claims.ledger import load_ledger  # noqa: PLC0415 (only a build needs the package)

    return claims_page.claims_page(load_ledger())


def claims_markdown(*, root: Path = ROOT) -> str:
    """The claims page: ``notebooks/claims.md`` when the reproduction wrote it (with verdicts), else the ledger."""
    written = root / "notebooks" / "claims.md"
    if written.is_file():
        return claims_page.ipynb_anchor_links(written.read_text())
    return ledger_page()


def pages(*, root: Path = ROOT) -> dict[str, bytes | Path]:
    """Every file of the staging folder: its relative path, and the file to copy or the bytes to write."""
    files: dict[str, bytes | Path] = {
        "index.md": HERE / "index.md",
        "reference/index.md": HERE / "reference.md",
        "README.md": root / "README.md",
        "data/README.md": root / "data" / "README.md",
        "notebooks/summary.md": root / "notebooks" / "summary.md",
    }
    for path in sorted((root / "docs").glob("*.md")):
        files[f"docs/{path.name}"] = path
    for path in sorted((root / "notebooks").glob("**/*.ipynb")):
        shown = display_copy(json.loads(path.read_text()))
        files[path.relative_to(root).as_posix()] = (json.dumps(shown, indent=1, ensure_ascii=False) + "\n").encode()
    files[f"{CLAIMS_DOC}.md"] = claims_markdown(root=root).encode()
    return files


def inputs(*, root: Path = ROOT) -> list[Path]:
    """Every file the site is built from: pages, notebooks, the package (docstrings, ledger), this folder."""
    found = [root / "README.md", root / "data" / "README.md", *(root / "docs").glob("*.md"), *HERE.iterdir()]
    for folder in (root / "notebooks", root / "initlab"):
        found += [p for p in folder.rglob("*") if "__pycache__" not in p.parts]
    return [p for p in found if p.is_file()]


def is_fresh(out: Path, *, root: Path = ROOT) -> bool:
    """Whether ``out`` holds a site built after the last change to any of its :func:`inputs`."""
    stamp = Path(out) / STAMP
    return stamp.is_file() and stamp.stat().st_mtime >= max(p.stat().st_mtime for p in inputs(root=root))


def sync(files: dict[str, bytes | Path], folder: Path, *, keep: Iterable[str] = ()) -> None:
    """Make ``folder`` hold exactly ``files`` (and the subfolders ``keep``), rewriting only what changed.

    A file that is already there with the same bytes keeps its time stamp, so Sphinx does not reread it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for rel, what in files.items():
        data = what.read_bytes() if isinstance(what, Path) else what
        target = folder / rel
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    kept = tuple(folder / k for k in keep)
    for path in sorted(folder.rglob("*"), reverse=True):
        rel = path.relative_to(folder).as_posix()
        if any(path == k or k in path.parents for k in kept) or rel in files:
            continue
        if path.is_file():
            path.unlink()
        elif not any(path.iterdir()):
            path.rmdir()


def mathjax_folder(static: Path) -> Path:
    """Lay out MathJax 3 (TeX input, HTML output, its fonts and lazily loaded parts) in ``static/mathjax``.

    The files come from the ``sphinx-mathjax-offline`` package (MathJax 3.2.2 as published); its other
    combined builds (SVG output, MathML input) are left out.
    """
    try:
        source = Path(distribution(MATHJAX_DIST).locate_file(f"{MATHJAX_DIST}/static/mathjax"))
    except PackageNotFoundError:
        raise SystemExit(f"error: {MATHJAX_DIST} is missing: run `make site` (pip install -e '.[site]')") from None
    if not (source / MATHJAX_ENTRY).is_file():
        raise SystemExit(f"error: {source / MATHJAX_ENTRY} is missing; reinstall {MATHJAX_DIST}")

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = Path(folder) == source
        return {n for n in names if top and n.endswith(".js") and n != MATHJAX_ENTRY} | (
            {"svg", "svg.js"} if Path(folder).name == "output" else set()
        )

    target = static / "mathjax"
    if not (target / MATHJAX_ENTRY).is_file():
        shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)
    return static


def sphinx_args(src: Path, html: Path, work: Path, static: Path) -> list[str]:
    """The sphinx-build command line: HTML, warnings as errors (all of them reported), this folder's conf.py."""
    return [
        "-b",
        "html",
        "-c",
        str(HERE),
        "-d",
        str(work / "doctrees"),
        "-W",
        "--keep-going",
        "-q",
        "-D",
        f"html_static_path=_static,{static}",
        str(src),
        str(html),
    ]


def build_site(out: Path, *, root: Path = ROOT, work: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Build the site into ``out`` (replaced whole) and return the path of its ``index.html``.

    Args:
        out: the site's folder.
        root: the repository whose pages and package are built.
        work: staging folder and Sphinx's caches (default ``<root>/build/site``); MyST-NB writes its output
            images beside the HTML it builds, so the HTML is built here and then moved to ``out``.
        log: where the steps' timings are printed.

    Raises:
        SystemExit: Sphinx reported a warning or an error (they are printed above).
    """
    from sphinx.cmd.build import build_main  # noqa: PLC0415 (Sphinx comes with the `site` extra only)

    work = Path(work) if work is not None else root / "build" / "site"
    start = time.perf_counter()
    src, html = work / "src", work / "html"
    sync(pages(root=root), src, keep=["reference/generated"])
    static = mathjax_folder(work / "static")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # Sphinx's notices to extension authors
        status = build_main(sphinx_args(src, html, work, static))
    if status != 0:
        raise SystemExit(f"error: sphinx-build failed (status {status}); the warnings above say where")
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(html, out)
    (out / STAMP).write_text("built by docs/sphinx/build.py\n")
    log(f"site built in {time.perf_counter() - start:.0f} s: {out / 'index.html'}")
    return out / "index.html"


def main(argv: list[str] | None = None) -> None:
    sys.path.insert(0, str(ROOT))  # this checkout's package (its ledger, its docstrings), not another copy
    parser = argparse.ArgumentParser(description="Build initlab's static site with Sphinx and MyST-NB.")
    parser.add_argument("--out", type=Path, default=ROOT / "site", help="the site's folder (default: site/)")
    parser.add_argument("--work", type=Path, default=None, help="staging and caches (default: build/site/)")
    args = parser.parse_args(argv)
    build_site(args.out, work=args.work)


if __name__ == "__main__":
    main()
