"""The documentation site builds offline with every Sphinx warning an error (a docstring that
is not valid reStructuredText, a link Sphinx cannot resolve, a page left out of the table of
contents), and it holds the API reference and the tutorial."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_documentation_site_builds_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    pytest.importorskip("numpydoc")
    pytest.importorskip("furo")
    out = tmp_path / "html"
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q",
         "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"sphinx-build failed:\n{done.stderr[-5000:]}"
    for page in ("index.html", "api.html", "tutorial.html", "experiments/index.html",
                 "api/generated/layersweep.recipe.html"):
        assert (out / page).is_file(), f"the site has no {page}"
    assert "LayerSweepClassifier" in (out / "api" / "generated" /
                                      "layersweep.estimator.html").read_text(encoding="utf-8")
