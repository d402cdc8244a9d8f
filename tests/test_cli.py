"""The command line says what it did, and bad values end in one line and exit status 2."""

import numpy as np
import pytest

from ganutils import callbacks, train

SMOKE = ["--profile", "smoke", "--seed", "0"]


def test_a_finished_run_says_so_and_an_extended_one_resumes(tmp_path, capsys):
    out = ["--out", str(tmp_path)]
    assert train.main([*SMOKE, *out, "--epochs", "1"]) == 0
    first = capsys.readouterr().out
    assert "resuming" not in first and "trained 1 epoch (1 to 1)" in first
    assert train.main([*SMOKE, *out, "--epochs", "1"]) == 0
    again = capsys.readouterr().out
    assert "is complete: 1 of 1 epochs" in again and "training.gif" in again
    assert "trained 1 epoch" not in again  # nothing was trained the second time
    assert train.main([*SMOKE, *out, "--epochs", "2"]) == 0
    extended = capsys.readouterr().out
    assert "resuming from the checkpoint" in extended and "epoch 1 of 2 is done" in extended
    assert "trained 1 epoch (2 to 2)" in extended and "2 of 2 done" in extended


@pytest.mark.parametrize("argv", [["--epochs", "-3"], ["--batch-size", "0"], ["--seed", "x"]])
def test_bad_arguments_exit_with_status_2(tmp_path, argv, capsys):
    with pytest.raises(SystemExit) as stop:
        train.main([*SMOKE, "--out", str(tmp_path), *argv])
    assert stop.value.code == 2
    assert "must be a" in capsys.readouterr().err


def test_a_batch_larger_than_the_data_is_one_line_on_stderr(tmp_path, capsys):
    assert train.main([*SMOKE, "--out", str(tmp_path), "--batch-size", "4096"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "batch_size (4096) exceeds the number of images" in err[0]


def test_a_corrupt_checkpoint_is_one_line_on_stderr(tmp_path, capsys):
    (tmp_path / callbacks.CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    assert train.main([*SMOKE, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "corrupt" in err[0] and "Traceback" not in err[0]


def test_a_conditional_run_from_the_command_line_resumes_and_keeps_its_labels(tmp_path, capsys):
    out = ["--out", str(tmp_path), "--conditional", "channels"]
    assert train.main([*SMOKE, *out, "--epochs", "1"]) == 0
    saved = callbacks.Checkpoint(tmp_path, config={}).read_meta()["config"]
    assert saved["num_classes"] == 10 and saved["conditioning"] == "channels"
    assert train.main([*SMOKE, *out, "--epochs", "2"]) == 0
    assert "resuming from the checkpoint" in capsys.readouterr().out
    # The unconditional command on the same folder is a different configuration.
    assert train.main([*SMOKE, "--out", str(tmp_path), "--epochs", "3"]) == 2
    assert "num_classes" in capsys.readouterr().err


def test_a_run_stopped_and_called_again_with_more_epochs_is_the_straight_run(tmp_path, capsys):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert train.main([*SMOKE, "--out", str(straight), "--epochs", "3"]) == 0
    assert train.main([*SMOKE, "--out", str(resumed), "--epochs", "1"]) == 0
    assert train.main([*SMOKE, "--out", str(resumed), "--epochs", "3"]) == 0
    assert "resuming from the checkpoint" in capsys.readouterr().out
    runs = [callbacks.read_history(out) for out in (straight, resumed)]
    assert runs[0]["epoch"] == runs[1]["epoch"] == [1, 2, 3]
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(runs[1][name], runs[0][name], rtol=1e-5, err_msg=name)
    saved = [np.load(out / callbacks.CHECKPOINT_FILE) for out in (straight, resumed)]
    weights = [key for key in saved[0].files if key != "meta"]
    assert weights and sorted(weights) == sorted(k for k in saved[1].files if k != "meta")
    for key in weights:
        np.testing.assert_allclose(saved[1][key], saved[0][key], rtol=1e-5, atol=1e-6, err_msg=key)
