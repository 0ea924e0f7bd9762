import json
import os

import numpy as np
import pytest

from layersweep import checkpoint
from layersweep.cli import main


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_train_then_evaluate_json(npz, tmp_path, capsys):
    out = str(tmp_path / "run.h5")
    code = main(["train", "--layers", "12,10,6", "--redundancy", "2", "--data", npz,
                 "--train-size", "60", "--test-size", "30", "--epochs", "2", "--reads", "4",
                 "--lr-w", "0.02", "--lr-b", "0.02", "--out", out, "--json"])
    assert code == 0
    lines = json_lines(capsys.readouterr().out)
    assert [row["epoch"] for row in lines[:2]] == [1, 2]
    assert {"train_error", "test_error", "seconds"} <= set(lines[0])
    assert lines[-1]["summary"] and lines[-1]["heldout_n"] == 30
    assert main(["evaluate", out, "--split", "test", "--json"]) == 0
    result = json_lines(capsys.readouterr().out)[0]
    assert result["split"] == "test" and result["n"] == 30 and 0 <= result["accuracy"] <= 1
    assert result["accuracy"] == pytest.approx(1 - lines[1]["test_error"])


def test_a_deep_run_predicts_with_its_averaged_parameters(npz, tmp_path, capsys):
    out = str(tmp_path / "run.h5")
    assert main(["train", "--layers", "12,10,8,6", "--redundancy", "2", "--data", npz,
                 "--train-size", "60", "--test-size", "30", "--epochs", "3", "--reads", "4",
                 "--greedy-epochs", "1", "--average", "40", "--out", out, "--json"]) == 0
    last = json_lines(capsys.readouterr().out)[2]
    saved = checkpoint.load(out)
    assert saved["config"]["average"] == 40 and saved["state"]["averaged_images"] == 120
    assert main(["evaluate", out, "--split", "test", "--json"]) == 0
    result = json_lines(capsys.readouterr().out)[0]
    assert result["accuracy"] == pytest.approx(1 - last["test_error"])
    net = checkpoint.predictor(saved)
    assert net is saved["state"]["averaged"] and not np.array_equal(net.W[2],
                                                                     saved["network"].W[2])
    assert main(["info", out]) == 0
    assert "moving average of the parameters (/state/averaged): over 40 images, 120 seen" \
        in capsys.readouterr().out


def test_train_prints_lines_and_a_table(npz, tmp_path, capsys):
    code = main(["train", "--layers", "12,6,6", "--redundancy", "2", "--data", npz,
                 "--train-size", "30", "--test-size", "30", "--epochs", "1", "--rule", "ep",
                 "--out", str(tmp_path / "r.h5"), "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    assert "epoch   1  train error" in text and "train err" in text and "heldout accuracy" in text


@pytest.mark.parametrize("argv, message", [
    (["--layers", "12,10,7"], "multiple of --redundancy"),
    (["--layers", "13,10,6"], "input layer has 13 units"),
    (["--layers", "12,10,8"], "data has 3 classes"),
    (["--train-size", "500"], "lower --train-size"),

    (["--data", "mnist:nowhere"], "no MNIST files"),
    (["--scheduler", "processes:2"], "--shard-size"),
    (["--greedy-epochs", "2"], "needs a deep net"),
    (["--hidden-warmup", "0.5"], "needs a deep net"),
])
def test_bad_input_exits_2_with_a_message(npz, tmp_path, capsys, argv, message):
    base = ["train", "--redundancy", "2", "--data", npz, "--train-size", "30", "--test-size", "30",
            "--epochs", "1",
            "--out", str(tmp_path / "r.h5"), "--layers", "12,10,6"]
    assert main(base + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("layersweep: error:") and message in err
    assert not (tmp_path / "r.h5").exists()


@pytest.mark.parametrize("argv, message", [
    (["--lr-w", "fast"], "argument --lr-w: expected comma-separated numbers"),
    (["--hidden-warmup", "slow"], "argument --hidden-warmup: expected comma-separated numbers"),
    (["--hidden-warmup", "0.5,2"], "argument --hidden-warmup: hidden_warmup must be a sequence "
                                   "of rate factors in [0, 1]"),
    (["--reads", "0"], "argument --reads: reads must be an integer >= 1"),
])
def test_a_malformed_recipe_option_is_a_usage_error(npz, tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        main(["train", "--data", npz, "--out", str(tmp_path / "r.h5")] + argv)
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r.h5").exists()


def test_evaluate_refuses_a_non_run_file(tmp_path, capsys):
    (tmp_path / "x.h5").write_bytes(b"nothing")
    assert main(["evaluate", str(tmp_path / "x.h5")]) == 2
    assert "corrupt or truncated" in capsys.readouterr().err


def test_a_malformed_scheduler_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "--scheduler", "threads:2", "--shard-size", "2"])
    assert stop.value.code == 2 and "processes:N" in capsys.readouterr().err


def test_a_lost_class_is_one_warning_line(npz, tmp_path, capsys):
    """A run file whose output group of class 2 is pinned down, resumed for an epoch: the
    run says, in one line, that the network has lost class 2."""
    import h5py

    out = str(tmp_path / "run.h5")
    args = ["train", "--layers", "12,10,6", "--redundancy", "2", "--data", npz, "--train-size",
            "60", "--test-size", "30", "--reads", "4", "--lr-w", "0.02", "--lr-b", "0.02",
            "--out", out]
    assert main(args + ["--epochs", "2"]) == 0
    assert "warning" not in capsys.readouterr().err
    with h5py.File(out, "a") as f:
        f["parameters/b2"][4:6] = -50.0
    assert main(args + ["--epochs", "3", "--resume", out]) == 0
    captured = capsys.readouterr()
    warning = [line for line in captured.err.splitlines() if "warning" in line]
    assert len(warning) == 1
    assert warning[0].startswith("layersweep: warning: after epoch 3 the network predicts "
                                 "class 2 for 0.0% of its training images")
    assert "hidden_couplings" not in warning[0]  # the remedy is for deep nets' inner couplings
    assert "worst class 2 0.00" in captured.out


def test_the_statevector_sampler_trains_and_resumes_from_the_command_line(npz, tmp_path):
    """Exact quantum annealing of the block K(4, 6), 10 qubits: two epochs straight equal one
    epoch, a checkpoint, and one more, bit for bit."""
    base = ["train", "--layers", "12,4,6", "--redundancy", "2", "--data", npz, "--train-size",
            "30", "--test-size", "30", "--reads", "4", "--sampler", "statevector",
            "--annealing-time", "5", "--json"]
    straight, split = str(tmp_path / "straight.h5"), str(tmp_path / "split.h5")
    assert main(base + ["--epochs", "2", "--out", straight]) == 0
    assert main(base + ["--epochs", "1", "--out", split]) == 0
    assert main(["train", "--resume", split, "--epochs", "2", "--json"]) == 0
    a, b = checkpoint.load(straight), checkpoint.load(split)
    assert a["config"]["sampler"] == "statevector" and a["config"]["annealing_time"] == 5.0
    assert a["sampler"]["name"] == "statevector"
    for name, value in a["network"].parameters().items():
        np.testing.assert_array_equal(value, b["network"].parameters()[name])


def test_the_annealing_time_needs_the_statevector_sampler(npz, tmp_path, capsys):
    assert main(["train", "--data", npz, "--annealing-time", "5", "--out",
                 str(tmp_path / "r.h5")]) == 2
    assert "--annealing-time applies to --sampler statevector only" in capsys.readouterr().err


def test_amplified_training_runs_resumes_and_records_its_anneals(npz, tmp_path, capsys):
    """--amplify split on the statevector sampler: two epochs straight equal one, a
    checkpoint and one more, bit for bit; each epoch records its anneals and the mean
    |A_wrong|^2. With a CPU sampler the option is one error line, before any file exists."""
    base = ["train", "--layers", "12,4,6", "--redundancy", "2", "--data", npz, "--train-size",
            "30", "--test-size", "30", "--reads", "4", "--sampler", "statevector",
            "--annealing-time", "5", "--amplify", "split", "--json"]
    straight, split = str(tmp_path / "straight.h5"), str(tmp_path / "split.h5")
    assert main(base + ["--epochs", "2", "--out", straight]) == 0
    assert main(base + ["--epochs", "1", "--out", split]) == 0
    assert main(["train", "--resume", split, "--epochs", "2", "--json"]) == 0
    a, b = checkpoint.load(straight), checkpoint.load(split)
    assert a["config"]["amplify"] == "split"
    for name, value in a["network"].parameters().items():
        np.testing.assert_array_equal(value, b["network"].parameters()[name])
    for row in a["history"]:
        assert row["anneals"] >= 30 * 2 and 0 < row["marked_probability"] < 1
    assert [r["anneals"] for r in a["history"]] == [r["anneals"] for r in b["history"]]
    capsys.readouterr()
    refused = str(tmp_path / "cpu.h5")
    assert main(["train", "--layers", "12,4,6", "--redundancy", "2", "--data", npz,
                 "--train-size", "30", "--test-size", "30", "--amplify", "split", "--out",
                 refused]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs a coherent annealer" in err[0]
    assert not os.path.exists(refused)
