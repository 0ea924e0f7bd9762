"""Target graphs: names, samplers, files, fingerprints."""
import json
import re
from pathlib import Path

import dimod
import networkx as nx
import numpy as np
import pytest
from dwave.system.testing import MockDWaveSampler

from layersweep.exceptions import EmbeddingError
from layersweep.topology import (Target, fingerprint, parse_topology, remove_random_qubits,
                                 resolve_target, target_from_file, target_from_graph,
                                 target_from_sampler)

PACKAGE = Path(__file__).resolve().parent.parent / "layersweep"


@pytest.mark.parametrize("spec, family, shape, qubits", [
    ("pegasus:4", "pegasus", (4,), 264),
    ("zephyr:2,4", "zephyr", (2, 4), 160),
    ("zephyr:2", "zephyr", (2, 4), 160),
    ("ZEPHYR:2,2", "zephyr", (2, 2), 80),
    ("chimera:2", "chimera", (2,), 32),
])
def test_parse_topology(spec, family, shape, qubits):
    target = parse_topology(spec)
    assert (target.family, target.shape) == (family, shape)
    assert target.graph.number_of_nodes() == qubits
    assert target.graph.graph["family"] == family
    assert target.is_ideal


@pytest.mark.parametrize("spec", ["pegasus", "pegasus:", "foo:3", "pegasus:x", "pegasus:0",
                                  "pegasus:4,4", "zephyr:2,4,4"])
def test_parse_topology_rejects(spec):
    with pytest.raises(EmbeddingError, match="topology"):
        parse_topology(spec)


def test_fingerprint_ignores_order_and_direction():
    graph = parse_topology("zephyr:2").graph
    edges = [(v, u) for u, v in graph.edges][::-1]
    shuffled = nx.Graph()
    shuffled.add_nodes_from(sorted(graph.nodes, reverse=True))
    shuffled.add_edges_from(edges)
    assert fingerprint(shuffled) == fingerprint(graph)
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint(graph))


def test_fingerprint_sees_missing_qubit_and_coupler():
    target = parse_topology("zephyr:2")
    qubit = next(iter(target.graph))
    assert target.without([qubit]).fingerprint != target.fingerprint
    graph = target.graph.copy()
    graph.remove_edge(*next(iter(graph.edges)))
    assert fingerprint(graph) != target.fingerprint
    assert not target.without([qubit]).is_ideal


def test_fingerprint_needs_integer_labels():
    with pytest.raises(EmbeddingError, match="integer"):
        fingerprint(nx.Graph([("a", "b")]))


def test_without_keeps_the_lattice():
    target = parse_topology("pegasus:3")
    rest = target.without(list(target.graph)[:5])
    assert (rest.family, rest.shape) == ("pegasus", (3,))
    assert rest.graph.number_of_nodes() == target.graph.number_of_nodes() - 5
    assert rest.graph.graph["family"] == "pegasus"


def test_from_mock_qpu_working_graph():
    ideal = parse_topology("zephyr:2,4")
    broken = sorted(ideal.graph)[:3]
    sampler = MockDWaveSampler(topology_type="zephyr", topology_shape=[2, 4],
                               broken_nodes=broken)
    target = target_from_sampler(sampler)
    assert (target.family, target.shape) == ("zephyr", (2, 4))
    assert target.graph.number_of_nodes() == ideal.graph.number_of_nodes() - 3
    assert target.fingerprint == ideal.without(broken).fingerprint
    assert target.ideal() is ideal
    assert "working graph" in target.name


def test_from_plain_structured_sampler():
    sampler = dimod.StructureComposite(dimod.ExactSolver(), [0, 1, 2], [(0, 1), (1, 2)])
    target = resolve_target(sampler)
    assert target.family is None and target.lattice is None
    assert sorted(target.graph.edges) == [(0, 1), (1, 2)]


def test_not_a_structured_sampler():
    with pytest.raises(EmbeddingError, match="structured"):
        target_from_sampler(dimod.ExactSolver())


def test_from_json_file_with_topology(tmp_path):
    ideal = parse_topology("zephyr:2")
    graph = ideal.without([0]).graph
    path = tmp_path / "chip.json"
    path.write_text(json.dumps({"topology": {"type": "zephyr", "shape": [2, 4]},
                                "nodes": sorted(graph.nodes), "edges": sorted(graph.edges)}))
    target = resolve_target(str(path))
    assert target.family == "zephyr"
    assert target.fingerprint == fingerprint(graph)


def test_from_json_file_without_topology_and_edgelist(tmp_path):
    edges = [(0, 1), (1, 2), (2, 0), (2, 3)]
    (tmp_path / "g.json").write_text(json.dumps({"edges": edges}))
    nx.write_edgelist(nx.Graph(edges), tmp_path / "g.edges", data=False)
    from_json = target_from_file(tmp_path / "g.json")
    from_edges = target_from_file(tmp_path / "g.edges")
    assert from_json.family is None
    assert from_json.fingerprint == from_edges.fingerprint == fingerprint(nx.Graph(edges))


@pytest.mark.parametrize("content", ["{not json", '{"nodes": [1]}', '{"edges": [["a", "b"]]}',
                                     '{"edges": [[0, 1]], "topology": {"type": "torus"}}'])
def test_bad_graph_files(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(EmbeddingError, match="bad.json"):
        target_from_file(path)


def test_from_networkx_lattice_graph():
    graph = parse_topology("pegasus:3").graph
    target = target_from_graph(graph)
    assert (target.family, target.shape) == ("pegasus", (3,))
    assert isinstance(resolve_target(target), Target)


def test_remove_random_qubits_is_seeded():
    target = parse_topology("zephyr:3")
    one = remove_random_qubits(target, 0.01, np.random.default_rng(5))
    two = remove_random_qubits(target, 0.01, np.random.default_rng(5))
    removed = round(0.01 * target.graph.number_of_nodes())
    assert one.graph.number_of_nodes() == target.graph.number_of_nodes() - removed
    assert one.fingerprint == two.fingerprint
    with pytest.raises(ValueError, match="fraction"):
        remove_random_qubits(target, 1.5, np.random.default_rng(0))


def test_dwave_graphs_imported_in_one_place():
    importers = [p.name for p in PACKAGE.rglob("*.py")
                 if re.search(r"^\s*(import|from)\s+(dwave\.graphs|dwave_networkx)\b",
                              p.read_text(), re.M)]
    assert importers == ["topology.py"]
