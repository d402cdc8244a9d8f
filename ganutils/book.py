"""Numbers from a run, into the book's prose: ``glue`` that also works without the book.

A chapter states a measured figure by gluing it in the code cell that
computed it and naming it in the markdown::

    glue("final_fd", score.fd)                 # code cell
    The run ends at FD {glue:text}`final_fd:.1f`.   # markdown cell

so a rebuild under another profile, seed or machine cannot leave the text
behind. In the book build ``myst_nb.glue`` stores the value for the page; in
Colab, where myst-nb is not installed, :func:`glue` does nothing unless
``display=True`` asks it to show the value, and the roles in the markdown stay
as written.
"""

from __future__ import annotations

__all__ = ["counted", "glue", "show_source", "source_text", "word"]

import ast
import inspect
import subprocess
import sys
import textwrap

import numpy as np

try:  # part of the book build (jupyter-book); Colab does not have it
    from myst_nb import glue as _myst_glue
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    _myst_glue = None

try:  # Jupyter, Colab and the book build have IPython; a plain script may not
    from IPython.display import Markdown
except ImportError:  # pragma: no cover
    Markdown = None

# Every key glued in this kernel: name -> (the cell's execution count, its source).
# myst-nb keeps one value per key and page, so a second glue of a key would
# silently replace the first value on the page (the build only warns).
_GLUED: dict[str, tuple[int, str]] = {}


def glue(name: str, value, *, display: bool = False) -> None:
    """Store ``value`` under ``name`` for ``{glue:text}`name``` in the page.

    Returns nothing, as ``myst_nb.glue`` does, so a cell that ends with a glue
    call shows no stray output.

    Args:
        name: The key the markdown refers to; letters, digits and underscores.
        value: A number, a string, or anything IPython can display.
        display: Also show the value in the cell's output.

    Raises:
        ValueError: ``name`` is empty or has characters other than letters,
            digits and underscores; or another cell of this notebook (or this
            cell, in the same run) already glued ``name``. Running the same
            cell again is fine.
    """
    if not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise ValueError(f"name must be letters, digits and underscores; got {name!r}")
    _claim(name)
    if isinstance(value, np.generic):
        # A NumPy scalar's text is "np.float64(23.4)", which {glue:text}`name:.1f`
        # cannot format; the Python number's text is "23.4".
        value = value.item()
    if _myst_glue is not None:
        _myst_glue(name, value, display=display)
    elif display:
        shell = sys.modules.get("IPython")
        if shell is not None and shell.get_ipython() is not None:
            shell.display.display(value)
        else:
            print(value)


def _claim(name: str) -> None:
    """Record that the running cell glues ``name``; refuse a key another cell glued."""
    shell = sys.modules.get("IPython")
    shell = shell.get_ipython() if shell is not None else None
    if shell is None:  # a plain script: no cells, nothing to collide with
        return
    cell = (shell.execution_count, shell.user_ns.get("_ih", [""])[-1])
    first = _GLUED.setdefault(name, cell)
    if first is not cell and (first[0] == cell[0] or first[1] != cell[1]):
        raise ValueError(
            f"name {name!r} is glued twice in this notebook, so the page would show only "
            "one of the values; give each value its own name"
        )
    _GLUED[name] = cell


def word(value: float, reference: float, *, above: str, below: str, same: str, tolerance=0.0):
    """The word for how ``value`` compares with ``reference``: computed, never typed.

    ``above`` when ``value > reference * (1 + tolerance)``, ``below`` when
    ``value < reference * (1 - tolerance)``, otherwise ``same``. For example
    ``word(speed, baseline, above="faster", below="slower", same="as fast", tolerance=0.05)``.

    Raises:
        ValueError: A negative ``tolerance``.
    """
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be non-negative; got {tolerance!r}")
    if value > reference * (1 + tolerance):
        return above
    if value < reference * (1 - tolerance):
        return below
    return same


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and its noun in the number it takes: ``1 run``, ``2 runs``, ``1 class``.

    ``plural`` defaults to ``noun + "s"``; pass it where English differs
    (``counted(n, "class", "classes")``).
    """
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


#: The book's code column: what a line of code on the page may hold (tests/test_book.py).
TEXT_COLUMN = 88


def source_text(obj, *, docstring: bool = False) -> str:
    """The source code of a function, method or class, dedented, without its docstring.

    The package's code is written to 100 columns and the page holds 88, so
    the text is laid out again at 88 columns by ``ruff format`` where ruff is
    installed (the book's build; the tokens are unchanged, only the line
    breaks move). Without ruff (Colab) it is the file's own layout.

    Args:
        obj: What :func:`inspect.getsource` accepts: a function, a method, a class.
        docstring: Keep the docstring (by default it goes: the page's prose
            says what the code does).

    Raises:
        ValueError: ``obj`` has no Python source (a built-in, a C extension).
    """
    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError) as error:
        raise ValueError(
            f"obj must be a function, method or class with source; got {obj!r}"
        ) from error
    if not docstring:
        source = _without_docstring(source)
    return _fit_columns(source)


def _without_docstring(source: str) -> str:
    """``source`` (one definition) without the docstring of that definition."""
    node = ast.parse(source).body[0]
    first = node.body[0] if node.body else None
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)):
        return source
    lines = source.splitlines(keepends=True)
    rest = lines[first.end_lineno :]
    while rest and not rest[0].strip():  # the blank line that followed the docstring
        rest = rest[1:]
    return "".join(lines[: first.lineno - 1] + rest)


def _fit_columns(source: str) -> str:
    """``source`` formatted to :data:`TEXT_COLUMN` columns by ruff, or as it is without ruff."""
    command = [sys.executable, "-m", "ruff", "format", "--isolated", "--line-length"]
    try:
        done = subprocess.run(
            [*command, str(TEXT_COLUMN), "-"], input=source, capture_output=True, text=True
        )
    except OSError:  # pragma: no cover - no Python to run ruff with
        return source
    return done.stdout if done.returncode == 0 else source


def show_source(obj, *, docstring: bool = False):
    """Show ``obj``'s source as highlighted Python, the same in the book and in Colab.

    The code the chapter teaches is the code the package runs: the cell shows
    it rather than a copy that could drift. Returns a fenced ``python`` block
    as :class:`IPython.display.Markdown` (the book renders Markdown outputs as
    MyST, Jupyter and Colab as Markdown); without IPython, the source text.

    Args:
        obj: A function, method or class (see :func:`source_text`).
        docstring: Keep the docstring.

    Raises:
        ValueError: ``obj`` has no Python source.
    """
    text = source_text(obj, docstring=docstring)
    fence = "````" if "```" in text else "```"  # a fence the code itself cannot close
    fenced = f"{fence}python\n{text.rstrip()}\n{fence}"
    return Markdown(fenced) if Markdown is not None else text
