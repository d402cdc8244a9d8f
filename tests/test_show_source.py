"""Tests for ganutils.book.show_source: the package's own code, shown on the page."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import ganutils
from ganutils import book, gan, stabilizers, studies


def test_source_text_drops_the_docstring_and_keeps_the_code():
    text = book.source_text(stabilizers.cross_entropy_losses)
    assert text.startswith("def cross_entropy_losses(real_logits, fake_logits, targets):\n")
    assert '"""' not in text
    assert "binary_crossentropy" in text
    # What is left is still valid Python, the function's statements unchanged.
    tree = ast.parse(text).body[0]
    original = ast.parse(book.source_text(stabilizers.cross_entropy_losses, docstring=True))
    assert ast.dump(tree.body[-1]) == ast.dump(original.body[0].body[-1])


def test_a_method_is_dedented_and_parses():
    text = book.source_text(gan.GAN.train_step)
    assert text.startswith("def train_step(self, data):\n")
    assert "tf.GradientTape()" in text
    ast.parse(text)


def test_show_source_is_a_fenced_python_block():
    shown = book.show_source(stabilizers.GradientPenalty)
    markdown = shown.data
    assert markdown.startswith(
        "```python\n@dataclasses.dataclass(frozen=True)\nclass GradientPenalty:"
    )
    assert markdown.endswith("\n```")
    assert "gradient_penalty(" in markdown


def test_code_that_holds_a_fence_gets_a_longer_one():
    def fenced():
        return "```"

    assert book.show_source(fenced).data.startswith("````python\n")


def test_no_source_is_a_value_error():
    with pytest.raises(ValueError, match="obj must be a function, method or class"):
        book.source_text(len)


@pytest.mark.parametrize(
    "obj",
    [
        gan.GAN.train_step,
        gan.GAN.discriminator_step,
        gan.GAN.update_ema,
        gan.GAN.targets,
        gan.GAN.noisy_targets,
        stabilizers.gradient_penalty,
        stabilizers.r1_penalty,
        stabilizers.relativistic_losses,
        stabilizers.hinge_discriminator_losses,
        stabilizers.GradientPenalty,
    ],
    ids=lambda obj: obj.__qualname__,
)
def test_the_code_the_book_shows_fits_its_column(obj):
    """Laid out at 88 columns (comments and strings too), so no page scrolls sideways."""
    long = [line for line in book.source_text(obj).splitlines() if len(line) > book.TEXT_COLUMN]
    assert not long, long


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SHOWN = re.compile(r"show_source\(([\w.]+)\)")


def shown_in_the_book() -> list[str]:
    """Every ``show_source(name)`` argument in the chapters, as written."""
    names = set()
    for path in NOTEBOOKS.glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                names.update(SHOWN.findall("".join(cell["source"])))
    return sorted(names)


def resolve(name: str):
    """The object a chapter's ``show_source`` argument names (chapters alias a few modules)."""
    head, *rest = name.split(".")
    roots = {
        "ganutils": ganutils,
        "conditional": studies.conditional,
        "studies": studies,
        **{module: getattr(ganutils, module) for module in ("conditioning", "diagnostics", "toy")},
    }
    obj = roots[head]
    for part in rest:
        obj = getattr(obj, part)
    return obj


def test_the_chapters_show_some_source():
    assert len(shown_in_the_book()) > 40


@pytest.mark.parametrize("name", shown_in_the_book())
def test_every_shown_source_fits_the_column(name):
    """Each source a chapter shows is laid out within 88 columns: no page scrolls sideways."""
    long = [
        line
        for line in book.source_text(resolve(name)).splitlines()
        if len(line) > book.TEXT_COLUMN
    ]
    assert not long, long


def test_without_ipython_show_source_is_the_plain_text(monkeypatch):
    """No IPython (a plain script), no myst-nb: the source comes back as text."""
    monkeypatch.setattr(book, "Markdown", None)
    shown = book.show_source(stabilizers.r1_penalty)
    assert isinstance(shown, str) and shown.startswith("def r1_penalty(")
