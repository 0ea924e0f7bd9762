import numpy as np
import pytest

from layersweep.exceptions import ArchitectureError
from layersweep.network import Network, check_layers, parse_layers

from conftest import all_spins


def explicit_energy(net, states, x):
    """The network's energy ``E = -sum_l (s^l . b^l + s^l . W^l s^(l-1))`` written out term
    by term."""
    e = 0.0
    for l in range(1, net.depth + 1):
        below = x if l == 1 else states[l - 1]
        for i in range(net.sizes[l]):
            e -= states[l][i] * net.b[l][i]
            for j in range(net.sizes[l - 1]):
                e -= states[l][i] * net.W[l][i, j] * below[j]
    return e


def test_energy_matches_explicit_sum(tiny_net, rng):
    x = rng.random(5).astype(np.float32)
    states = [None] + [rng.choice([-1.0, 1.0], n).astype(np.float32) for n in tiny_net.sizes[1:]]
    assert tiny_net.energy(states, x) == pytest.approx(explicit_energy(tiny_net, states, x), abs=1e-5)


def test_field_is_the_energy_change_of_a_flip(tiny_net, rng):
    x = rng.random(5).astype(np.float32)
    states = [None] + [rng.choice([-1.0, 1.0], n).astype(np.float32) for n in tiny_net.sizes[1:]]
    for l in range(1, tiny_net.depth + 1):
        f = tiny_net.field(l, states, x)
        for i in range(tiny_net.sizes[l]):
            flipped = [None] + [s.copy() for s in states[1:]]
            flipped[l][i] *= -1
            delta = tiny_net.energy(flipped, x) - tiny_net.energy(states, x)
            assert delta == pytest.approx(2 * states[l][i] * f[i], abs=1e-5)


def test_paper_initialisation(rng):
    net = Network.random([784, 120, 40], rng)
    assert net.W[1].shape == (120, 784) and net.W[2].shape == (40, 120)
    assert np.abs(net.W[1]).max() <= 1 / np.sqrt(784)
    assert np.abs(net.W[2]).max() <= 1 / np.sqrt(120)
    assert np.abs(net.W[2]).max() > 0.9 / np.sqrt(120)
    assert all(not b.any() for b in net.b[1:])
    assert net.W[1].dtype == np.float32


def test_targets_and_predictions_with_ties():
    net = Network([4, 3, 6], classes=3, redundancy=2)
    assert net.targets(1).tolist() == [-1, -1, 1, 1, -1, -1]
    outputs = np.array([[-1, -1, 1, 1, -1, -1],   # class 1
                        [1, 1, 1, 1, -1, -1],     # tie between 0 and 1
                        [1, -1, -1, -1, 1, 1]], dtype=np.float32)  # class 2
    assert net.predict_output(outputs).tolist() == [1, -1, 2]


def test_clamped_descent_sets_lower_layers_to_field_signs(tiny_net, rng):
    x = rng.random(5).astype(np.float32)
    out = tiny_net.targets(1)
    states = tiny_net.clamped_descent(x, out)
    assert np.array_equal(states[3], out)
    expected2 = np.where(tiny_net.field(2, states, x) >= 0, 1, -1)
    assert np.array_equal(states[2], expected2)
    expected1 = np.where(tiny_net.field(1, states, x) >= 0, 1, -1)
    assert np.array_equal(states[1], expected1)


def test_clamped_descent_broadcasts_over_classes(tiny_net, rng):
    x = rng.random((7, 5)).astype(np.float32)
    states = tiny_net.clamped_descent(x[:, None], tiny_net.targets(np.arange(2)))
    assert states[1].shape == (7, 2, 3) and states[3].shape == (7, 2, 4)
    single = tiny_net.clamped_descent(x[3], tiny_net.targets(1))
    assert np.array_equal(states[1][3, 1], single[1])


def test_graph_model(tiny_net):
    g = tiny_net.graph()
    assert g.number_of_nodes() == sum(tiny_net.sizes)
    assert g.number_of_edges() == sum(a * b for a, b in zip(tiny_net.sizes, tiny_net.sizes[1:]))
    assert g.edges[(2, 1), (1, 0)]["weight"] == pytest.approx(float(tiny_net.W[2][1, 0]))
    layers = tiny_net.layer_graph()
    assert layers.graph["blocks"] == [(1, 2), (2, 3)]
    assert layers.nodes[3]["kind"] == "output"


def test_clamped_descent_sets_each_layer_top_down_to_the_sign_of_its_field(tiny_net, rng):
    """Written out unit by unit: the output is clamped; each hidden layer, from the top,
    takes the sign of its field from the layer above (as just set) and the feed-forward
    value of the layer below (ties to +1)."""
    x = rng.random(5).astype(np.float32)
    output = np.array([1.0, -1.0, -1.0, 1.0], np.float32)
    ff = [None]
    for l in range(1, tiny_net.depth + 1):
        below = x if l == 1 else ff[l - 1]
        ff.append(np.array([1.0 if sum(tiny_net.W[l][i, j] * below[j]
                                       for j in range(len(below))) + tiny_net.b[l][i] >= 0
                            else -1.0 for i in range(tiny_net.sizes[l])], np.float32))
    expected = {tiny_net.depth: output}
    for l in range(tiny_net.depth - 1, 0, -1):
        below = x if l == 1 else ff[l - 1]
        above = expected[l + 1]
        field = [sum(tiny_net.W[l][i, j] * below[j] for j in range(len(below)))
                 + tiny_net.b[l][i]
                 + sum(tiny_net.W[l + 1][k, i] * above[k] for k in range(len(above)))
                 for i in range(tiny_net.sizes[l])]
        expected[l] = np.array([1.0 if f >= 0 else -1.0 for f in field], np.float32)
    states = tiny_net.clamped_descent(x, output)
    for l in range(1, tiny_net.depth + 1):
        np.testing.assert_array_equal(states[l], expected[l], err_msg=f"layer {l}")
    assert not np.array_equal(states[1], ff[1]) or not np.array_equal(states[2], ff[2]) \
        or not np.array_equal(output, ff[3])  # the clamp mattered somewhere


@pytest.mark.parametrize("layers, message", [
    ([784, 40], "at least one hidden"),
    ([784, 0, 40], "at least one unit"),
    ([784, 120, 41], "classes \\* redundancy"),
])
def test_bad_architectures_are_refused(layers, message):
    with pytest.raises(ArchitectureError, match=message):
        check_layers(layers, 10, 4)


def test_parse_layers():
    assert parse_layers("784, 120,40") == [784, 120, 40]
    with pytest.raises(ArchitectureError, match="comma-separated"):
        parse_layers("784;120")
