"""The experiment scripts run end to end in their quick modes, so that they cannot rot."""

import os
import runpy
import sys

import pytest

EXPERIMENTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "experiments")


def run_script(name, argv):
    old = sys.argv
    sys.argv = [name] + argv
    try:
        runpy.run_path(os.path.join(EXPERIMENTS, name), run_name="__main__")
    finally:
        sys.argv = old


@pytest.mark.slow
def test_qp_vs_ep_quick(tmp_path, capsys):
    run_script("qp_vs_ep.py", ["--quick", "--out", str(tmp_path)])
    assert (tmp_path / "curves.csv").exists() and (tmp_path / "curves.png").exists()
    assert "heldout err" in capsys.readouterr().out


@pytest.mark.slow
def test_bench_sampler_quick(tmp_path, capsys):
    run_script("bench_sampler.py", ["--quick", "--out", str(tmp_path)])
    assert (tmp_path / "bench_sampler.png").exists()
    assert "speed x" in capsys.readouterr().out


@pytest.mark.slow
def test_bench_epoch_quick(tmp_path, capsys):
    run_script("bench_epoch.py", ["--epochs", "1", "--train-size", "100", "--out", str(tmp_path)])
    assert "s/epoch" in capsys.readouterr().out


@pytest.mark.slow
def test_depth_quick(tmp_path, capsys):
    run_script("depth.py", ["--quick", "--nets", "shallow,deep", "--variants", "default,rescaled",
                            "--rules", "qp", "--out", str(tmp_path)])
    assert (tmp_path / "curves.csv").exists() and (tmp_path / "curves.png").exists()
    assert "120-120-40" in capsys.readouterr().out


@pytest.mark.slow
def test_samples_m_quick(tmp_path, capsys):
    run_script("samples_m.py", ["--quick", "--out", str(tmp_path)])
    assert (tmp_path / "samples_m.csv").exists() and (tmp_path / "samples_m.png").exists()
    assert "train error (1 epoch)" in capsys.readouterr().out


@pytest.mark.slow
def test_wall_time_quick(tmp_path, capsys):
    run_script("wall_time.py", ["--quick", "--out", str(tmp_path)])
    assert (tmp_path / "wall_time.csv").exists() and (tmp_path / "wall_time.png").exists()
    assert "to 88%" in capsys.readouterr().out


@pytest.mark.slow
def test_landscape_quick(tmp_path, capsys):
    run_script("landscape.py", ["--quick", "--out", str(tmp_path)])
    assert (tmp_path / "landscape.png").exists() and (tmp_path / "stages.csv").exists()
    assert "predict their image's class" in capsys.readouterr().out
