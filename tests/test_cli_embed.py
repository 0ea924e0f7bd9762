"""``layersweep embed``: filling and listing the cache from the command line."""
import argparse
import json

import pytest

import layersweep.cli
from layersweep.cli import embed
from layersweep.embedding import ENV_VAR
from layersweep.exceptions import (ArchitectureError, BlockTooLargeError, CacheError,
                                   EmbeddingError)
from layersweep.topology import parse_topology


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path, monkeypatch):
    """Nothing a test does may write into the repository's embeddings/."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "default-cache"))


def _run(*argv):
    parser = argparse.ArgumentParser(prog="layersweep")
    embed.add_parser(parser.add_subparsers())
    args = parser.parse_args(["embed", *argv])
    return args.func(args)


def test_fill_prints_a_table_and_caches(tmp_path, capsys):
    cache_dir = tmp_path / "c"
    assert _run("--topology", "zephyr:4", "--layers", "784,24,8,8",
                "--cache-dir", str(cache_dir)) == 0
    out = capsys.readouterr().out
    assert "K(24,8)" in out and "K(8,8)" in out and "busclique-biclique" in out
    assert out.count("computed") == 2
    assert len(list(cache_dir.glob("*.json"))) == 2
    _run("--topology", "zephyr:4", "--layers", "784,24,8", "--cache-dir", str(cache_dir))
    assert "cache" in capsys.readouterr().out.splitlines()[-1]


def test_environment_variable_is_the_default_cache(tmp_path, capsys):
    _run("--topology", "zephyr:2", "--layers", "784,8,4")
    assert list((tmp_path / "default-cache").glob("*K8x4.json"))


def test_json_output(tmp_path, capsys):
    _run("--topology", "zephyr:4", "--layers", "784,24,8", "--tiles", "2",
         "--cache-dir", str(tmp_path), "--json")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    block, summary = lines
    assert block["block"] == [24, 8] and block["status"] == "ok" and block["copies"] == 2
    assert {"method", "qubits", "max_chain", "mean_chain", "seconds", "file"} <= set(block)
    assert summary["summary"]["embedded"] == 1
    assert summary["summary"]["fingerprints"] == [parse_topology("zephyr:4").fingerprint]


def test_tiles_max(tmp_path, capsys):
    _run("--topology", "zephyr:3", "--layers", "784,16,8", "--tiles", "max",
         "--cache-dir", str(tmp_path), "--json")
    block = json.loads(capsys.readouterr().out.splitlines()[0])
    assert block["copies"] >= 2


def test_block_that_does_not_fit(tmp_path, capsys):
    with pytest.raises(BlockTooLargeError, match=r"K\(60,60\).*largest K\(n,60\)"):
        _run("--topology", "zephyr:4", "--layers", "784,60,60,8", "--cache-dir", str(tmp_path))
    out = capsys.readouterr().out
    assert "does not fit" in out and "K(60,8)" in out  # the other block was still embedded


def test_topology_from_file(tmp_path, capsys):
    graph = parse_topology("zephyr:2").graph
    path = tmp_path / "chip.json"
    path.write_text(json.dumps({"topology": {"type": "zephyr", "shape": [2, 4]},
                                "edges": [list(e) for e in graph.edges]}))
    assert _run("--topology", str(path), "--layers", "784,8,4",
                "--cache-dir", str(tmp_path / "c")) == 0
    assert "chip.json" in capsys.readouterr().out


def test_list(tmp_path, capsys):
    _run("--topology", "zephyr:2", "--layers", "784,8,4", "--cache-dir", str(tmp_path))
    (tmp_path / "broken.json").write_text("{")
    capsys.readouterr()
    assert _run("--list", "--cache-dir", str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "zephyr:2,4" in out and "K(8,4)" in out and "unreadable" in out
    _run("--list", "--cache-dir", str(tmp_path), "--json")
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[-1]["summary"] == {"files": 2, "unreadable": 1, "dirs": [str(tmp_path)]}


def test_list_empty(tmp_path, capsys):
    _run("--list", "--cache-dir", str(tmp_path / "none"))
    assert "(empty)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, error", [
    (["--layers", "784,40", "--topology", "zephyr:2"], ArchitectureError),
    (["--layers", "784,40"], EmbeddingError),
    (["--layers", "784,8,4", "--topology", "torus:3"], EmbeddingError),
])
def test_errors_that_teach(argv, error):
    with pytest.raises(error):
        _run(*argv)


@pytest.mark.parametrize("argv", [["--layers", "784,8,4", "--tiles", "0"],
                                  ["--layers", "784,x,40", "--topology", "zephyr:2"],
                                  ["--list", "--layers", "784,8,4"], []])
def test_argument_errors(argv, capsys):
    with pytest.raises(SystemExit):
        _run(*argv)


def test_corrupt_cache_file_is_refused(tmp_path):
    _run("--topology", "zephyr:2", "--layers", "784,8,4", "--cache-dir", str(tmp_path))
    path = next(tmp_path.glob("*.json"))
    path.write_text("{}")
    with pytest.raises(CacheError, match="not a layersweep embedding file"):
        _run("--topology", "zephyr:2", "--layers", "784,8,4", "--cache-dir", str(tmp_path))


@pytest.mark.skipif(not hasattr(layersweep.cli, "main"),
                    reason="layersweep.cli.main not written yet")
def test_through_main(tmp_path, capsys):
    assert layersweep.cli.main(["embed", "--topology", "zephyr:2", "--layers", "784,8,4",
                                "--cache-dir", str(tmp_path)]) == 0
    assert "K(8,4)" in capsys.readouterr().out


def test_blocks_times_topologies_on_a_cluster_are_the_local_ones(tmp_path, capsys):
    """Searches run as tasks of a Dask LocalCluster; what it stores is what a local run
    stores, bit for bit (but for the clock and the creation time)."""
    argv = ["--topology", "zephyr:2", "--topology", "zephyr:3", "--layers", "784,12,8,4",
            "--tiles", "2", "--json"]
    assert _run(*argv, "--cache-dir", str(tmp_path / "local")) == 0
    assert _run(*argv, "--cache-dir", str(tmp_path / "cluster"), "--scheduler",
                "processes:2") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # K(12,4) of the greedy stage, K(12,8), K(8,4), on each of the two lattices
    assert rows[-1]["summary"]["blocks"] == 6 and rows[-1]["summary"]["embedded"] == 6

    def stored(name):
        found = {}
        for path in sorted((tmp_path / name).glob("*.json")):
            doc = json.loads(path.read_text())
            found[path.name] = {k: v for k, v in doc.items() if k not in ("created", "seconds")}
        return found

    local = stored("local")
    assert len(local) == 6 and local == stored("cluster")
