"""The command line says what it did, and bad values end in one line and exit status 2."""

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
