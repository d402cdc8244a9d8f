"""tools/check_book.py's pure checks, without a browser (make check-book runs the real one)."""

from __future__ import annotations

import base64
import importlib.util
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "check_book.py"


def _load():
    spec = importlib.util.spec_from_file_location("check_book", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while defining classes
    spec.loader.exec_module(module)
    return module


check_book = _load()

ORIGIN = "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    "line",
    [
        "E0000 00:00:1796173508.379421    2654 meta_optimizer.cc:967] remapper failed",
        "2025-01-01 10:00:00.000000: I tensorflow/core/util/port.cc:113] oneDNN custom "
        "operations are on",
        "W0000 00:00:1700000000.000000  123 gpu_device.cc:2344] Cannot dlopen some GPU libraries.",
        "WARNING:tensorflow:5 out of the last 5 calls triggered tf.function retracing",
        "/x/keras/src/layers/core/dense.py:87: UserWarning: Do not pass an `input_shape`",
        "DeprecationWarning: np.find_common_type is deprecated",
        "Unable to register cuDNN factory",
        "Could not find cuda drivers on your machine, GPU will not be used.",
    ],
)
def test_log_lines_are_flagged(line):
    assert check_book.log_lines(f"FD 12.0\n{line}\nepoch 2/3") == [
        (check_book.log_lines(line)[0][0], line)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "FD 23.40 after 30 epochs",
        "epoch 3/30 [#####.....]",
        "step 100: d_loss 0.693, g_loss 0.701",
        "Devices: ['/physical_device:CPU:0']",
        "2 x 3 = 6",
    ],
)
def test_ordinary_output_passes(text):
    assert check_book.log_lines(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("| model | FD |\n|---|---|\n| DCGAN | 23.4 |\n\nNext.", ["| model | FD |"]),
        ("| a | b |\n|:---|---:|", ["| a | b |"]),
        ("Results: |—|—| below", ["|—|—|"]),
        ("|---|", ["|---|"]),
        ("| a | b | c |", ["| a | b | c |"]),
        ("| a | b | |---|---| | 1 | 2 |", ["| a | b | |---|---| | 1 | 2 |"]),
        ("See {ref}dcgan-batch-norm for why.", ["{ref}dcgan-batch-norm"]),
        ("See {ref}`dcgan-batch-norm`.", ["{ref}`dcgan-batch-norm`"]),
        ("as {cite:t}radford2015dcgan showed", ["{cite:t}radford2015dcgan"]),
        ("shown {cite:p}salimans2016 and {cite}`gan`", ["{cite:p}salimans2016", "{cite}`gan`"]),
        ("FD {glue:text}fd_final and {glue}fig", ["{glue:text}fd_final", "{glue}fig"]),
        (
            "{numref}fig-grid {doc}intro {eq}eq-loss",
            ["{numref}fig-grid", "{doc}intro", "{eq}eq-loss"],
        ),
        ("a {term}`mode collapse`", ["{term}`mode"]),
        ("{ref}", ["{ref}"]),
        ("```{figure} ../images/grid.png", ["```{figure}"]),
        (":::{note}\nText.\n:::", [":::{note}"]),
    ],
)
def test_unrendered_markup_is_flagged(text, expected):
    assert check_book.unrendered_markup(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Take the larger of a | b and move on.",
        "the norm |x| of x, and |x - y| < 1",
        "|x|",
        "| a | b |",  # two cells and no separator row: not enough to call it a table
        "the set {x | x > 0} and {0, 1}",
        "See the ref section, the refs and the cross-reference; cite it; the doc.",
        "\\text{term} and \\mathrm{eq} and prefix{ref}",
        "The generator - a deconvolution stack - is next.",
        "ratio 3:2, time 12:00:00 {x}",
        "",
    ],
)
def test_rendered_text_passes(text):
    assert check_book.unrendered_markup(text) == []


def test_unrendered_markup_is_reported_once_and_short():
    assert check_book.unrendered_markup("{ref}a\n{ref}a\n{ref}a") == ["{ref}a"]
    table = "| " + " | ".join(["column"] * 30) + " |\n|" + "---|" * 30
    [excerpt] = check_book.unrendered_markup(table)
    assert excerpt.startswith("| column | column |")
    assert len(excerpt) == check_book.EXCERPT_CHARS


def test_overflow_detail_names_the_longest_line():
    long_line = "    model.compile(optimizer=" + "x" * 80 + ")"
    detail = check_book.overflow_detail("code cell", f"import keras\n{long_line}\nmodel.fit()\n")
    assert detail == (
        f"code cell, longest line {len(long_line)} characters: {long_line.strip()[:60]}..."
    )
    assert check_book.overflow_detail("cell output", "a\tb") == (
        "cell output, longest line 9 characters: a       b"
    )
    assert check_book.overflow_detail("code block", "short") == (
        "code block, longest line 5 characters: short"
    )


def _gif(tmp_path: Path, **kwargs) -> bytes:
    frames = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    frames[1] = 255
    path = tmp_path / "anim.gif"
    iio.imwrite(path, frames, extension=".gif", **kwargs)
    return path.read_bytes()


def test_a_gif_that_loops_forever_passes(tmp_path):
    assert check_book.gif_problems(_gif(tmp_path, loop=0)) == []


def test_a_gif_without_loop_fails(tmp_path):
    problems = check_book.gif_problems(_gif(tmp_path))
    assert len(problems) == 1
    assert "does not loop forever" in problems[0]


def test_a_single_frame_gif_fails(tmp_path):
    path = tmp_path / "still.gif"
    iio.imwrite(path, np.zeros((8, 8, 3), dtype=np.uint8), extension=".gif", loop=0)
    assert any("1 frame" in p for p in check_book.gif_problems(path.read_bytes()))


def test_not_a_gif_fails():
    assert check_book.gif_problems(b"not an image")


def test_gif_data_uris_are_decoded(tmp_path):
    data = _gif(tmp_path, loop=0)
    uri = "data:image/gif;base64," + base64.b64encode(data).decode()
    assert check_book.is_gif_reference(uri)
    assert check_book.decode_data_uri(uri) == data
    assert check_book.is_gif_reference(f"{ORIGIN}/_images/a.GIF?v=1")
    assert not check_book.is_gif_reference(f"{ORIGIN}/_images/a.png")


def _entry(source, message, level="SEVERE"):
    return {"level": level, "source": source, "message": message, "timestamp": 0}


def test_js_exceptions_fail():
    message = (
        f"{ORIGIN}/book/intro.html 61:12 Uncaught SyntaxError: "
        "Identifier 'THEBE_JS_URL' has already been declared"
    )
    problem = check_book.console_problem(_entry("javascript", message), ORIGIN)
    assert problem.what == "js error"
    assert problem.detail.startswith("book/intro.html 61:12 Uncaught SyntaxError")


def test_what_is_not_the_pages_fault_is_ignored():
    failed = "Failed to load resource: net::ERR_NAME_NOT_RESOLVED"
    for entry in [
        _entry("network", f"https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex.js - {failed}"),
        _entry("network", f"{ORIGIN}/favicon.ico - Failed to load resource: 404 (Not Found)"),
        _entry("javascript", f"{ORIGIN}/a.html 1:1 deprecated thing", level="WARNING"),
    ]:
        assert check_book.console_problem(entry, ORIGIN) is None


def test_a_missing_local_file_fails():
    entry = _entry("network", f"{ORIGIN}/_static/gone.js - Failed to load resource: 404")
    problem = check_book.console_problem(entry, ORIGIN)
    assert problem.what == "failed request"
    assert "/_static/gone.js" in problem.detail


def test_screenshot_names_are_flat():
    assert check_book.screenshot_name("notebooks/04_mnist_dcgan.html") == (
        "notebooks__04_mnist_dcgan.png"
    )


def test_pure_functions_need_no_selenium():
    code = (
        "import sys, importlib.util\n"
        "sys.modules['selenium'] = None  # any import of selenium now fails\n"
        f"spec = importlib.util.spec_from_file_location('check_book', {str(SCRIPT)!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules['check_book'] = m\n"
        "spec.loader.exec_module(m)\n"
        "assert m.log_lines('E0000 00:00:1796173508.379421 1 x.cc:1] remapper failed')\n"
        "assert m.unrendered_markup('{ref}x') == ['{ref}x']\n"
        "assert m.overflow_detail('code cell', 'abc').endswith('3 characters: abc')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_arguments_and_a_missing_build_exit_2(tmp_path, capsys):
    assert check_book.main(["--html", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "run make book first" in err
    with pytest.raises(SystemExit) as exit_info:
        check_book.main(["--no-such-option"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_gifs_referenced_and_lying_around_are_checked(tmp_path):
    html = tmp_path / "html"
    (html / "_images").mkdir(parents=True)
    (html / "_images" / "good.gif").write_bytes(_gif(tmp_path, loop=0))
    (html / "_images" / "once.gif").write_bytes(_gif(tmp_path))
    (html / "_images" / "orphan.gif").write_bytes(_gif(tmp_path))
    references = {
        "a.html": [f"{ORIGIN}/_images/good.gif", f"{ORIGIN}/_images/once.gif"],
        "b.html": [f"{ORIGIN}/_images/gone.gif"],
    }
    problems, seen = check_book.check_gifs(references, ORIGIN, html)
    assert [(p.page, p.detail.split(":")[0]) for p in problems] == [
        ("a.html", "_images/once.gif"),
        ("b.html", "_images/gone.gif"),
    ]
    leftovers = check_book.check_gif_files(html, seen)
    assert [p.page for p in leftovers] == ["_images/orphan.gif"]


def test_theme_fragments_are_not_pages(tmp_path):
    for name in ["index.html", "notebooks/a.html", "_static/webpack-macros.html"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("<html></html>")
    assert check_book.find_pages(tmp_path, "**/*.html") == ["index.html", "notebooks/a.html"]
