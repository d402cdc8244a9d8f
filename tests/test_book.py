"""The book's structure: every notebook listed, committed clean, Colab-ready."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from ganutils.book import TEXT_COLUMN

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _toc_files(node) -> list[str]:
    files = []
    if isinstance(node, dict):
        if "file" in node:
            files.append(node["file"])
        for value in node.values():
            files.extend(_toc_files(value))
    elif isinstance(node, list):
        for item in node:
            files.extend(_toc_files(item))
    return files


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def _cells(path: Path, kind: str = "code") -> list[str]:
    notebook = json.loads(path.read_text())
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == kind]


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no chapter notebooks"


def test_every_notebook_is_in_the_toc_and_every_toc_entry_exists():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert toc["format"] == "jb-book"
    listed = [*_toc_files(toc), toc["root"]]
    for entry in listed:
        matches = [p for p in ROOT.glob(entry + ".*") if p.suffix in {".md", ".ipynb"}]
        assert matches, f"_toc.yml lists {entry!r}, which does not exist"
    in_toc = {entry for entry in listed if entry.startswith("notebooks/")}
    on_disk = {f"notebooks/{p.stem}" for p in NOTEBOOKS}
    assert on_disk - in_toc == set(), "notebooks missing from _toc.yml are silently dropped"


def test_config_executes_with_cache_and_a_generous_timeout():
    execute = _config()["execute"]
    assert execute["execute_notebooks"] == "cache"
    assert execute["timeout"] >= 600


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name} carries outputs"
            assert cell.get("execution_count") is None, f"{path.name} carries execution counts"
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_code_fits_the_text_column(path):
    """The rendered book shows about 88 characters of code without sideways scrolling."""
    too_long = [
        f"{path.name}, code cell {number}: {line!r} ({len(line)} characters)"
        for number, cell in enumerate(_cells(path), 1)
        for line in cell.splitlines()
        if len(line) > TEXT_COLUMN
    ]
    assert not too_long, f"lines over {TEXT_COLUMN} characters:\n" + "\n".join(too_long)


def test_notebook_lint_uses_the_text_column():
    """notebooks/ruff.toml holds notebook code to the same width (E501 not ignored)."""
    ruff = (ROOT / "notebooks" / "ruff.toml").read_text()
    assert re.search(rf"^line-length = {TEXT_COLUMN}$", ruff, re.M)
    ignored = re.search(r'^"\*\.ipynb" = \[(.*)\]$', ruff, re.M)
    assert ignored and "E501" not in ignored.group(1)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_installs_ganutils_from_the_configured_repository(path):
    url = _config()["repository"]["url"]
    first = _cells(path)[0]
    assert 'find_spec("ganutils") is None' in first
    assert f"git+{url}" in first, f"{path.name} installs from elsewhere than {url}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_sets_up_and_states_its_profile(path):
    code = "\n".join(_cells(path))
    assert "ganutils.config.setup(" in code
    assert "print(profile)" in code
    assert not re.search(r"ganutils(\.\w+)+\._\w", code), "notebooks must not use private helpers"
    # TensorFlow prints its start-up lines at import: setup() must come first.
    first_tf = re.search(r"^(import|from) (tensorflow|keras)\b", code, re.M)
    assert first_tf is None or code.index("ganutils.config.setup(") < first_tf.start()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_one_title_and_a_label(path):
    markdown = _cells(path, "markdown")
    assert re.match(r"\(\S+\)=\n# ", markdown[0]), f"{path.name} must open with a label and H1"
    titles = [line for cell in markdown for line in cell.splitlines() if line.startswith("# ")]
    assert len(titles) == 1


def test_readme_opens_with_the_two_commands_and_links_the_repository():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "make book" in first_block and "make test" in first_block
    assert "_build/html/index.html" in readme
    repo = _config()["repository"]["url"].removeprefix("https://github.com/")
    assert f"colab.research.google.com/github/{repo}/blob/main/notebooks/" in readme


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_readme_opens_every_notebook_in_colab(path):
    repo = _config()["repository"]["url"].removeprefix("https://github.com/")
    link = f"colab.research.google.com/github/{repo}/blob/main/notebooks/{path.name}"
    assert link in (ROOT / "README.md").read_text()


def test_chapter_numbers_are_the_same_everywhere():
    """One numbering: the toc's numbered chapters, the notebook files and the README agree."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbered = [
        chapter["file"]
        for part in toc["parts"]
        if part.get("numbered")
        for chapter in part["chapters"]
    ]
    assert numbered == [f"notebooks/{p.stem}" for p in NOTEBOOKS]  # chapter N is notebook N
    for number, path in enumerate(NOTEBOOKS, 1):
        assert path.stem.startswith(f"{number:02d}_"), path.name
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (\d+)\. [^|]+\| .*?notebooks/(\d\d)_", readme, flags=re.MULTILINE)
    assert rows and all(int(a) == int(b) for a, b in rows), rows
    # Prose names chapters by their titles ({ref}), not by the old part numbers.
    for path in NOTEBOOKS:
        for markdown in _cells(path, "markdown"):
            assert not re.search(r"\bParts? [IVX]+\b", markdown), (path.name, markdown[:80])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_valid_nbformat(path):
    """The schema of the notebook's own nbformat version (4.4 allows no cell ids)."""
    nbformat.validate(nbformat.read(path, as_version=4))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_figure_is_dropped_by_a_later_statement(path):
    """A bare ``ganutils...plot_*(...)`` call shows its figure only as a cell's last line."""
    dropped = []
    for number, source in enumerate(_cells(path), 1):
        try:
            body = ast.parse(source).body
        except SyntaxError:
            continue
        for node in body[:-1]:
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                name = ast.unparse(node.value.func)
                if name.startswith("ganutils.") and ".plot_" in name:
                    dropped.append(f"{path.name}, code cell {number}: {name}")
    assert not dropped, dropped
