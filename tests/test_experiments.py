"""The experiment scripts run end to end in their quick modes, so that they cannot rot."""

import os
import runpy
import sys

import pytest

EXPERIMENTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "experiments")

#: script, its quick-mode arguments, files it must write, a phrase its summary must print
QUICK_RUNS = [
    ("qp_vs_ep.py", ["--quick"], ["curves.csv", "curves.png"], "heldout err"),
    ("bench_sampler.py", ["--quick"], ["bench_sampler.png"], "speed x"),
    ("bench_bipartite.py", ["--quick"], ["bench.csv", "bench.png"], "speed x"),
    ("bench_memory.py", ["--quick"], ["bench_memory.csv"], "epoch MB"),
    ("bench_kernels.py", ["--quick"], ["bench_kernels.csv"], "speed x"),
    ("bench_epoch.py", ["--epochs", "1", "--train-size", "100"], ["bench_epoch.csv"], "s/epoch"),
    ("bench_scaleout.py", ["--quick"], ["bench_scaleout.csv", "bench_scaleout.png"], "efficiency"),
    ("depth.py", ["--quick", "--nets", "shallow,deep", "--variants", "default,rescaled",
                  "--rules", "qp"], ["curves.csv", "curves.png"], "120-120-40"),
    ("probe.py", ["--quick"], ["probe.csv", "probe.png"], "logistic regression on the pixels"),
    ("samples_m.py", ["--quick"], ["samples_m.csv", "samples_m.png"], "train error (1 epoch)"),
    ("wall_time.py", ["--quick"], ["wall_time.csv", "wall_time.png"], "to 88%"),
    ("landscape.py", ["--quick"], ["landscape.png", "stages.csv"], "predict their image's class"),
    ("scaling.py", ["--quick"], ["curves.csv", "exponents.csv", "scaling.png"],
     "scaling exponent z"),
    ("coherent.py", ["--quick"], ["quick/curves.csv", "quick/exponents.csv",
                                  "quick/coherent.png"], "scaling exponent z"),
]


def run_script(name, argv):
    old = sys.argv
    sys.argv = [name] + argv
    try:
        runpy.run_path(os.path.join(EXPERIMENTS, name), run_name="__main__")
    finally:
        sys.argv = old


@pytest.mark.slow
@pytest.mark.parametrize("script, argv, files, phrase", QUICK_RUNS, ids=[r[0] for r in QUICK_RUNS])
def test_quick_mode(script, argv, files, phrase, tmp_path, capsys):
    run_script(script, argv + ["--out", str(tmp_path)])
    for name in files:
        assert (tmp_path / name).exists(), name
    assert phrase in capsys.readouterr().out
