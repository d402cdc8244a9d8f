import os
import random
import subprocess
import sys

import numpy as np
import pytest

import ganutils.config as config


@pytest.mark.parametrize("name", ["smoke", "cpu", "gpu", "SMOKE", " cpu "])
def test_get_profile_by_name(name):
    profile = config.get_profile(name)
    assert profile.name == name.strip().lower()
    assert profile.epochs >= 1 and profile.batch_size >= 1


def test_profiles_grow_from_smoke_to_gpu():
    smoke, cpu, gpu = (config.PROFILES[n] for n in ("smoke", "cpu", "gpu"))
    assert smoke.max_digits is not None and smoke.max_digits < 5000
    assert smoke.epochs < cpu.epochs and smoke.epochs < gpu.epochs
    assert gpu.max_digits is None  # the full 60,000-digit run


def test_get_profile_reads_environment(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV_VAR, "smoke")
    assert config.get_profile().name == "smoke"


def test_default_profile_follows_the_hardware(monkeypatch):
    monkeypatch.delenv(config.PROFILE_ENV_VAR, raising=False)
    expected = "gpu" if config.gpu_available() else "cpu"
    assert config.get_profile().name == expected


def test_unknown_profile_lists_the_valid_ones(monkeypatch):
    with pytest.raises(ValueError, match=r"'smoke', 'cpu', 'gpu'.*'turbo'"):
        config.get_profile("turbo")
    monkeypatch.setenv(config.PROFILE_ENV_VAR, "laptop")
    with pytest.raises(ValueError, match=config.PROFILE_ENV_VAR):
        config.get_profile()


def test_profile_str_names_profile_and_scale():
    text = str(config.PROFILES["smoke"])
    assert "smoke" in text and "512" in text and "epochs" in text


@pytest.mark.parametrize("name", sorted(config.PROFILES))
def test_profile_str_fits_the_book_column(name):
    """Every chapter prints its profile: one line within the book's 88 characters."""
    assert len(str(config.PROFILES[name])) <= 88


def test_seed_everything_repeats_python_numpy_and_keras():
    import keras

    def draw():
        config.seed_everything(7)
        return (
            random.random(),
            np.random.rand(),  # noqa: NPY002 - checking the global state on purpose
            keras.random.normal((3,)).numpy().tolist(),
            keras.initializers.RandomNormal(stddev=0.02)((4,)).numpy().tolist(),
        )

    assert draw() == draw()


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_seed_everything_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        config.seed_everything(seed)


def test_setup_returns_profile(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV_VAR, "smoke")
    assert config.setup(seed=1).name == "smoke"
    assert config.setup(seed=1, profile="cpu").name == "cpu"


def test_quiet_tensorflow_captures_fd_level_output():
    with config.quiet_tensorflow() as lines:
        os.write(2, b"noisy C++ line\n")
    assert lines == ["noisy C++ line"]


def test_setup_keeps_tensorflow_start_up_lines_out_of_stderr():
    code = (
        "import ganutils.config as c; c.setup(seed=0, profile='smoke');"
        "import tensorflow as tf; tf.constant(1.0) + 1"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
        check=True,
    )
    for noise in ("oneDNN", "cuda", "absl", "cuInit"):
        assert noise not in result.stderr, result.stderr


def test_importing_the_lowest_floor_starts_no_tensorflow():
    code = (
        "import sys, ganutils.config, ganutils.latent, ganutils.labels, ganutils.data;"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_atomic_path_replaces_the_file_only_when_the_write_finishes(tmp_path):
    target = tmp_path / "sub" / "table.csv"
    with config.atomic_path(target) as temporary:
        assert temporary.parent == target.parent and temporary.name.startswith(".")
        assert temporary.suffix == ".tmp"  # a leftover never matches *.csv
        temporary.write_text("first")
    with config.atomic_path(target, keep_suffix=True) as temporary:
        assert temporary.name.endswith(".tmp.csv")  # for model.save, which wants its suffix
        temporary.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError), config.atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "first"  # the old file survives
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.csv"]  # no temporary left


def test_check_seed_names_the_argument():
    assert config.check_seed(np.int64(3)) == 3 and isinstance(config.check_seed(3), int)
    for bad in (-1, 1.5, True, "0"):
        with pytest.raises(ValueError, match="classifier_seed"):
            config.check_seed(bad, "classifier_seed")


def test_in_notebook_is_false_outside_a_kernel():
    assert config.in_notebook() is False


def test_tensorflow_notices_at_error_level_stay_out_of_stderr():
    # Mixed float16 on a CPU without AVX-512 makes oneDNN log an "E0000 ... DT_HALF" line.
    code = (
        "import ganutils.config as c; c.setup(seed=0, profile='smoke');"
        "import keras, numpy as np;"
        "keras.mixed_precision.set_global_policy('mixed_float16');"
        "m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3)]);"
        "m(np.zeros((1, 8, 8, 1), np.float32)); print('ran')"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "ran"
    assert not [
        line for line in result.stderr.splitlines() if line[:1] in "EWIF" and "0000" in line
    ]
