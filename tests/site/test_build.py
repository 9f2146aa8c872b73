"""The site's builder (docs/sphinx/build.py) short of Sphinx: what it stages, what it leaves out, when it rebuilds."""

from __future__ import annotations

import json
import os
from pathlib import Path

from browsing import ROOT, load_builder

build = load_builder()
RECORD = {"output_type": "display_data", "data": {build.RECORD_MIME: {"name": "x"}}, "metadata": {}}
FIGURE = {"output_type": "display_data", "data": {"image/png": "iVBO", "text/plain": "<Figure>"}, "metadata": {}}
STREAM = {"output_type": "stream", "name": "stdout", "text": "done\n"}


def _notebook(*outputs: dict) -> dict:
    return {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": '<a id="evidence-x"></a>\n## Evidence'},
            {"cell_type": "code", "metadata": {}, "source": "run()", "outputs": list(outputs), "execution_count": 1},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_the_shown_notebook_leaves_out_only_the_records() -> None:
    notebook = _notebook(RECORD, FIGURE, STREAM, RECORD)
    shown = build.display_copy(notebook)
    assert shown["cells"][1]["outputs"] == [FIGURE, STREAM]
    assert shown["cells"][0] == notebook["cells"][0]
    assert len(notebook["cells"][1]["outputs"]) == 4  # the committed notebook is not changed


def test_every_committed_notebook_keeps_its_figures_and_tables() -> None:
    for path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        notebook = json.loads(path.read_text())
        shown = build.display_copy(notebook)
        for kept, cell in zip(shown["cells"], notebook["cells"]):
            visible = [o for o in cell.get("outputs", []) if set(o.get("data", {"": 0})) != {build.RECORD_MIME}]
            assert kept.get("outputs", []) == visible, path.name


def _root(tmp_path: Path, claims: str | None = None) -> Path:
    for rel, text in {
        "README.md": "# r\n",
        "data/README.md": "# d\n",
        "docs/index.md": "# i\n",
        "notebooks/summary.md": "# s\n",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "notebooks" / "01_a.ipynb").write_text(json.dumps(_notebook(RECORD, FIGURE)))
    if claims is not None:
        (tmp_path / "notebooks" / "claims.md").write_text(claims)
    return tmp_path


def test_without_a_reproduction_the_claims_page_comes_from_the_ledger(tmp_path: Path) -> None:
    files = build.pages(root=_root(tmp_path))
    page = files[f"{build.CLAIMS_DOC}.md"].decode()
    assert page.startswith(f"# {build.claims_page.TITLE}") and "`000-table1-train-first`" in page
    assert build.CLAIMS_DOC in files["index.md"].read_text()
    assert {"README.md", "data/README.md", "docs/index.md", "notebooks/summary.md", "notebooks/01_a.ipynb"} <= set(
        files
    )
    shown = json.loads(files["notebooks/01_a.ipynb"])
    assert shown["cells"][1]["outputs"] == [FIGURE]


def test_the_reproductions_claims_page_comes_first_with_its_links_made_html(tmp_path: Path) -> None:
    files = build.pages(root=_root(tmp_path, claims="# Claims\n\n[08](08_criticality.ipynb#evidence-d)\n"))
    assert files[f"{build.CLAIMS_DOC}.md"].decode() == '# Claims\n\n<a href="08_criticality.html#evidence-d">08</a>\n'
    landing = files["index.md"].read_text() if isinstance(files["index.md"], Path) else files["index.md"].decode()
    assert build.CLAIMS_DOC in landing


def test_sync_rewrites_only_what_changed_and_removes_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "a.md"
    source.write_text("a")
    folder = tmp_path / "staged"
    build.sync({"a.md": source, "sub/b.md": b"b"}, folder)
    os.utime(folder / "a.md", (1, 1))
    (folder / "gone" / "deep").mkdir(parents=True)
    (folder / "gone" / "deep" / "c.md").write_text("c")
    (folder / "keep").mkdir()
    (folder / "keep" / "k.rst").write_text("k")
    build.sync({"a.md": source, "sub/b.md": b"b2"}, folder, keep=["keep"])
    assert (folder / "a.md").stat().st_mtime == 1  # same bytes: not rewritten, so Sphinx does not reread it
    assert (folder / "sub" / "b.md").read_bytes() == b"b2"
    assert not (folder / "gone").exists()
    assert (folder / "keep" / "k.rst").is_file()


def test_a_site_is_fresh_until_one_of_its_sources_changes(tmp_path: Path) -> None:
    root = _root(tmp_path / "repo")
    (root / "initlab").mkdir()
    (root / "initlab" / "m.py").write_text("")
    out = tmp_path / "site"
    out.mkdir()
    assert not build.is_fresh(out, root=root)
    (out / build.STAMP).write_text("")
    newest = max(p.stat().st_mtime for p in build.inputs(root=root))
    os.utime(out / build.STAMP, (newest + 10, newest + 10))
    assert build.is_fresh(out, root=root)
    os.utime(root / "docs" / "index.md", (newest + 20, newest + 20))
    assert not build.is_fresh(out, root=root)
