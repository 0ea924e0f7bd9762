"""``layersweep predict``: new images in, one CSV row each out, the same classes as
``evaluate`` scores; bad input is one error line."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from layersweep import data as datasets
from layersweep.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 784-40-40 run on 200 real digits, and 300 held-out digits (every class) without
    labels."""
    folder = tmp_path_factory.mktemp("run")
    splits = datasets.split(datasets.load(), 200, 0)
    np.savez(folder / "train.npz", X=splits["train"].X, y=splits["train"].y)
    every = splits["heldout"]
    held = datasets.Dataset(every.X[::16], every.y[::16], "held")  # 300, every class
    np.savez(folder / "held.npz", X=held.X)
    np.savez(folder / "held_y.npz", X=held.X, y=held.y)
    assert main(["train", "--layers", "784,40,40", "--data", str(folder / "train.npz"),
                 "--train-size", "200", "--test-size", "0", "--epochs", "3", "--reads", "5",
                 "--no-progress", "--json", "--out", str(folder / "run.h5")]) == 0
    return folder, held


def rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_predict_classifies_as_evaluate_scores(trained, tmp_path, capsys):
    """The labelless held-out images of ``evaluate``'s split, in its order: predict's classes
    score what evaluate reports (ties, left empty, counting as wrong)."""
    folder, _ = trained
    split = datasets.split(datasets.load(str(folder / "held_y.npz")), 10, 0)["heldout"]
    np.savez(tmp_path / "unlabelled.npz", X=split.X)
    out = tmp_path / "p.csv"
    assert main(["predict", str(folder / "run.h5"), "--data", str(tmp_path / "unlabelled.npz"),
                 "--out", str(out)]) == 0
    table = rows(out)
    assert len(table) == len(split) and list(table[0])[:2] == ["image", "class"]
    assert [k for k in table[0] if k.startswith("p_")] == [f"p_{c}" for c in range(10)]
    probabilities = np.array([[float(r[f"p_{c}"]) for c in range(10)] for r in table])
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    predicted = np.array([int(r["class"]) if r["class"] else -1 for r in table])
    capsys.readouterr()
    assert main(["evaluate", str(folder / "run.h5"), "--data", str(folder / "held_y.npz"),
                 "--train-size", "10", "--test-size", "0", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == len(split)
    assert result["accuracy"] == pytest.approx(np.mean(predicted == split.y))
    assert result["undecided"] == int(np.sum(predicted < 0))


def test_a_folder_of_png_images_is_read_and_resized(trained, tmp_path):
    folder, held = trained
    images = tmp_path / "pngs"
    images.mkdir()
    for i in range(5):
        pixels = np.round(held.X[i].reshape(28, 28) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(images / f"digit{i}.png")
    Image.fromarray(np.zeros((56, 56, 3), np.uint8)).save(images / "big.png")  # RGB, 2x
    out = tmp_path / "p.csv"
    assert main(["predict", str(folder / "run.h5"), "--data", str(images), "--out",
                 str(out)]) == 0
    table = rows(out)
    assert [r["image"] for r in table] == ["big.png"] + [f"digit{i}.png" for i in range(5)]
    npz = tmp_path / "five.npz"
    np.savez(npz, X=held.X[:5])
    assert main(["predict", str(folder / "run.h5"), "--data", str(npz), "--out",
                 str(tmp_path / "q.csv")]) == 0
    # the probabilities are a function of each image alone (the ground state's anneal draws
    # from a stream per position in the batch, so a tie's outcome may differ)
    assert [[r[f"p_{c}"] for c in range(10)] for r in table[1:]] == \
        [[r[f"p_{c}"] for c in range(10)] for r in rows(tmp_path / "q.csv")]


@pytest.mark.parametrize("make, message", [
    (lambda d: np.savez(d / "x.npz", X=np.zeros((3, 10))), "X has shape (3, 10); the run's "
                                                           "network takes (n, 784)"),
    (lambda d: (d / "x.npz").write_text("not an archive"), "cannot read"),
    (lambda d: np.savez(d / "x.npz", Y=np.zeros((3, 784))), "has no array X"),
    (lambda d: np.savez(d / "x.npz", X=np.full((3, 784), np.nan)), "NaN"),
])
def test_bad_input_is_one_error_line(trained, tmp_path, capsys, make, message):
    folder, _ = trained
    make(tmp_path)
    assert main(["predict", str(folder / "run.h5"), "--data", str(tmp_path / "x.npz"),
                 "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("layersweep: error:") and message in err[0]
    assert not (tmp_path / "p.csv").exists()


def test_an_existing_csv_is_kept_without_overwrite(trained, tmp_path, capsys):
    folder, _ = trained
    (tmp_path / "p.csv").write_text("mine\n")
    assert main(["predict", str(folder / "run.h5"), "--data", str(folder / "held.npz"),
                 "--out", str(tmp_path / "p.csv")]) == 2
    assert "exists: pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "p.csv").read_text() == "mine\n"
    (tmp_path / "empty").mkdir()
    assert main(["predict", str(folder / "run.h5"), "--data", str(tmp_path / "empty"),
                 "--out", str(tmp_path / "q.csv")]) == 2
    assert "holds no .png images" in capsys.readouterr().err
