import json

import numpy as np
import pytest

from layersweep import checkpoint
from layersweep import data as datasets
from layersweep.cli import main


@pytest.fixture
def run_file(tmp_path):
    d = datasets.synthetic(n=90, features=12, classes=3, seed=2)
    npz = tmp_path / "digits.npz"
    np.savez(npz, X=d.X, y=d.y)
    out = tmp_path / "run.h5"
    assert main(["train", "--layers", "12,8,6", "--redundancy", "2", "--data", str(npz),
                 "--train-size", "30", "--test-size", "15", "--reads", "3", "--sweeps", "8",
                 "--epochs", "2", "--checkpoint-every", "4", "--keep", "2", "--out", str(out),
                 "--json"]) == 0
    return out


def test_info_prints_config_progress_parameters_and_history(run_file, capsys):
    capsys.readouterr()
    assert main(["info", str(run_file)]) == 0
    text = capsys.readouterr().out
    assert "layersweep run file, format version 1" in text and " KB" in text
    assert "network    12-8-6 (3 classes x 2 output units)" in text
    assert "epochs done 2 of 2; 6 updates" in text
    assert "sampler    numpy" in text and "embeddings none (CPU sampler)" in text
    assert f"older      {run_file}.1" in text
    assert "reads" in text and "W1         8x12  float32" in text
    assert "train_error" in text and "test_error" in text


def test_info_json_and_mid_epoch_position(run_file, capsys):
    capsys.readouterr()
    assert main(["info", str(run_file) + ".1", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["epoch"], info["position"], info["epoch_size"], info["steps"]) == (1, 10, 30, 4)
    assert info["parameters"]["W2"] == {"shape": [6, 8], "dtype": "float32"}
    assert info["config"]["layers"] == [12, 8, 6] and len(info["history"]) == 1
    assert info["bytes"] > 0 and info["format_version"] == checkpoint.FORMAT_VERSION


def test_info_refuses_what_is_not_a_run_file(tmp_path, capsys):
    (tmp_path / "x.h5").write_bytes(b"nothing")
    assert main(["info", str(tmp_path / "x.h5")]) == 2
    assert "corrupt or truncated" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "absent.h5")]) == 2
    assert "no run file" in capsys.readouterr().err
