"""ganutils.book: glue with and without myst-nb, and computed comparison words."""

import pytest

import ganutils.book as book


def test_glue_hands_the_value_to_myst_nb(monkeypatch):
    calls = []
    monkeypatch.setattr(
        book, "_myst_glue", lambda name, value, display: calls.append((name, value, display))
    )
    assert book.glue("final_fd", 23.4) is None  # no stray output when a cell ends with it
    book.glue("verdict", "helps", display=True)
    assert calls == [("final_fd", 23.4, False), ("verdict", "helps", True)]


def test_without_myst_nb_glue_shows_or_stays_silent(monkeypatch, capsys):
    monkeypatch.setattr(book, "_myst_glue", None)  # as in Colab
    assert book.glue("ratio", 2.4) is None
    assert capsys.readouterr().out == ""
    book.glue("ratio", 2.4, display=True)
    assert capsys.readouterr().out.strip() == "2.4"


@pytest.mark.parametrize("name", ["", "final fd", "fd-final", None])
def test_glue_names_are_identifiers(name):
    with pytest.raises(ValueError, match="name"):
        book.glue(name, 1.0)


def test_word_is_computed_from_the_numbers():
    args = {"above": "faster", "below": "slower", "same": "as fast", "tolerance": 0.05}
    assert book.word(2.4, 1.0, **args) == "faster"
    assert book.word(0.8, 1.0, **args) == "slower"
    assert book.word(1.03, 1.0, **args) == "as fast"
    with pytest.raises(ValueError, match="tolerance"):
        book.word(1.0, 1.0, above="a", below="b", same="c", tolerance=-1)


def test_counted_gives_the_noun_its_number():
    assert book.counted(1, "run") == "1 run"
    assert book.counted(0, "run") == "0 runs"
    assert book.counted(2, "run") == "2 runs"
    assert book.counted(1, "class", "classes") == "1 class"
    assert book.counted(10, "class", "classes") == "10 classes"


def test_numpy_numbers_are_glued_as_python_numbers(monkeypatch):
    import numpy as np
    from IPython.core.formatters import PlainTextFormatter

    calls = []
    monkeypatch.setattr(book, "_myst_glue", lambda name, value, display: calls.append(value))
    book.glue("fd", np.float64(23.4))
    book.glue("runs", np.int64(3))
    assert calls == [23.4, 3] and type(calls[0]) is float and type(calls[1]) is int
    # What myst-nb formats for {glue:text}`fd:.1f` is the value's text/plain.
    assert PlainTextFormatter()(calls[0]) == "23.4"


@pytest.fixture
def shell(monkeypatch):
    """An IPython shell running cells, as a notebook kernel does."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setattr(book, "_GLUED", {})
    monkeypatch.setattr(book, "_myst_glue", lambda name, value, display: None)
    shell = InteractiveShell.instance()
    yield shell
    InteractiveShell.clear_instance()


def _run(shell, code: str):
    result = shell.run_cell(f"import ganutils.book as book\n{code}", store_history=True)
    return result.error_in_exec


def test_a_key_glued_by_two_cells_is_refused(shell):
    assert _run(shell, 'book.glue("recipe_ttg", 19.8)') is None
    error = _run(shell, 'book.glue("recipe_ttg", 23.0)')
    assert isinstance(error, ValueError) and "'recipe_ttg' is glued twice" in str(error)


def test_a_key_glued_twice_in_one_run_of_a_cell_is_refused(shell):
    error = _run(shell, 'for key in ("recipe", "recipe"):\n    book.glue(f"{key}_ttg", 1.0)')
    assert isinstance(error, ValueError) and "recipe_ttg" in str(error)


def test_running_the_same_cell_again_may_glue_its_keys_again(shell):
    for _ in range(2):
        assert _run(shell, 'book.glue("final_fd", 23.4)') is None
