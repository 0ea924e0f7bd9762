"""The recipe: every field's default for each depth, its refusals, the rates it spreads, and
the plan it resolves to (stages, blocks, capacity). One test per field where it has a rule."""

import re

import pytest

from layersweep import LayerSweepClassifier, Recipe, resolve
from layersweep import data as datasets
from layersweep.exceptions import ArchitectureError, BlockTooLargeError
from layersweep.recipe import FIELDS

SHALLOW, DEEP, DEEPER = (784, 120, 40), (784, 256, 128, 40), (784, 256, 128, 64, 40)


def resolved(sizes, **fields):
    return resolve(fields, sizes).recipe


def test_every_field_is_a_recipe_attribute_with_a_doc_and_an_option():
    assert list(FIELDS) == [f.name for f in __import__("dataclasses").fields(Recipe)]
    for field in FIELDS.values():
        assert field.doc and field.option.startswith("--") and field.help().endswith(")")
    assert FIELDS["lr_W"].option == "--lr-w"


def test_rule_and_reads():
    assert (resolved(SHALLOW).rule, resolved(SHALLOW).reads) == ("qp", 20)
    assert resolved(SHALLOW, rule="ep").reads == 1 and resolved(DEEP, rule="ep").reads == 1
    assert resolved(SHALLOW, reads=5).reads == 5
    with pytest.raises(ArchitectureError, match="rule='ep' uses one free sample"):
        resolve({"rule": "ep", "reads": 3}, SHALLOW)
    with pytest.raises(ArchitectureError, match="^reads must be an integer >= 1"):
        resolve({"reads": 0}, SHALLOW)


def test_start_by_depth():
    assert [resolved(s).start for s in (SHALLOW, DEEP, DEEPER)] == \
        ["reference", "top-reference", "random"]
    assert resolved(DEEP, rule="ep").start == "random"
    assert resolved(DEEPER, start="reference").start == "reference"
    with pytest.raises(ArchitectureError, match="^start must be one of"):
        resolve({"start": "sideways"}, SHALLOW)


def test_cycles_and_frozen_above():
    assert resolved(SHALLOW).cycles == 1 and resolved(SHALLOW, cycles=3).cycles == 3
    assert resolved(DEEP).frozen_above == "reference"
    with pytest.raises(ArchitectureError, match="^frozen_above must be one of"):
        resolve({"frozen_above": "thawed"}, DEEP)


def test_rates_spread_over_a_deep_nets_couplings():
    """Two rates are the shallow net's (δW, δJ): a deep net takes δW/2 for W^1, 2δJ/3 for each
    hidden-hidden coupling learnt from below (δJ/6 inside its block) and δJ/2 for the top."""
    assert resolve({}, SHALLOW).rates.W == [0.01, 0.003]
    assert resolve({"lr_W": (0.1, 0.6)}, DEEPER).rates.W == pytest.approx([0.05, 0.4, 0.4, 0.3])
    assert resolve({"lr_W": (0.1, 0.6), "hidden_couplings": "inner"}, DEEPER).rates.W == \
        pytest.approx([0.05, 0.1, 0.1, 0.3])
    assert resolve({"lr_b": 0.2}, DEEP).rates.b == [0.2] * 3
    assert resolve({"lr_W": (0.1, 0.2, 0.2, 0.3)}, DEEPER).rates.W == [0.1, 0.2, 0.2, 0.3]
    with pytest.raises(ArchitectureError, match="or 4 \\(one per coupling layer\\)"):
        resolve({"lr_W": (0.1, 0.2, 0.3)}, DEEPER)
    with pytest.raises(ArchitectureError, match="needs 1 or 2 \\(input layer, other layers\\) "
                                                "learning rates; got 3"):
        resolve({"lr_W": (0.1, 0.2, 0.3)}, SHALLOW)
    for bad in (float("nan"), -1.0, "fast", ()):
        with pytest.raises(ArchitectureError, match="^lr_W must be one learning rate"):
            resolve({"lr_W": bad}, SHALLOW)
    # the greedy stage runs at the two rates given, or the first and last of per-layer ones
    assert resolve({"lr_W": (0.01, 0.003), "lr_b": 0.02}, DEEP).stage_rates.b == [0.02, 0.02]
    assert resolve({"lr_W": (0.1, 0.2, 0.3)}, DEEP).stage_rates.W == [0.1, 0.3]


def test_init_scale_by_depth():
    assert resolved(SHALLOW).init_scale == (1.0, 1.0)  # the paper's
    assert resolved(DEEPER).init_scale == (1.0, 0.4, 0.4, 0.5)
    assert resolved(DEEP, init_scale=(1, 1, 1)).init_scale == (1.0, 1.0, 1.0)
    with pytest.raises(ArchitectureError, match="one factor per coupling layer \\(3\\)"):
        resolve({"init_scale": (1, 1)}, DEEP)
    with pytest.raises(ArchitectureError, match="^init_scale must be factors > 0"):
        resolve({"init_scale": (1, 0, 1)}, DEEP)


@pytest.mark.parametrize("field, deep, shallow, given", [
    ("greedy_epochs", 5, 0, 3),
    ("average", 3000, 0, 500),
    ("hidden_decay", 0.5, 0.0, 2.0),
    ("hidden_couplings", "upper", "inner", "inner"),
    ("error_driven", 0.25, 0.0, 0.5),
    ("hidden_warmup", (0.1, 0.3, 0.6), (), (0.5,)),
])
def test_deep_net_defaults(field, deep, shallow, given):
    assert getattr(resolved(DEEP), field) == deep == getattr(resolved(DEEPER), field)
    assert getattr(resolved(SHALLOW), field) == shallow
    assert getattr(resolved(DEEP, **{field: given}), field) == given


@pytest.mark.parametrize("field, value", [
    ("greedy_epochs", 2), ("hidden_decay", 0.5), ("error_driven", 0.5), ("hidden_warmup", (0.5,)),
])
def test_a_shallow_net_refuses_what_only_deep_nets_have(field, value):
    with pytest.raises(ArchitectureError, match=f"^{field}=.* needs a deep net"):
        resolve({field: value}, SHALLOW)


@pytest.mark.parametrize("field, value, message", [
    ("greedy_epochs", -1, "an integer >= 0"), ("greedy_epochs", 1.5, "an integer >= 0"),
    ("average", True, "an integer >= 0"), ("hidden_decay", float("nan"), "a finite number"),
    ("hidden_couplings", "both", "one of"), ("error_driven", 2, "a fraction of the reads"),
    ("hidden_warmup", (0.5, 2), "rate factors in [0, 1]"), ("hidden_warmup", "slow", "rate "),
])
def test_bad_values_name_the_field(field, value, message):
    with pytest.raises(ArchitectureError, match=f"^{field} must be .*{re.escape(message)}"):
        resolve({field: value}, DEEP)


def test_dependent_defaults():
    """The inner couplings come without error-driven reads and warm-up; reads frozen at the
    free state above are all error-driven already."""
    inner = resolved(DEEP, hidden_couplings="inner")
    assert (inner.error_driven, inner.hidden_warmup) == (0.0, ())
    assert resolved(DEEP, frozen_above="free").error_driven == 0.0
    with pytest.raises(ArchitectureError, match="needs frozen_above='reference'"):
        resolve({"frozen_above": "free", "error_driven": 0.5}, DEEP)


def test_a_resolved_recipe_resolves_to_itself():
    for sizes in (SHALLOW, DEEP, DEEPER):
        once = resolved(sizes)
        assert resolve(once, sizes).recipe == once


def test_the_plan_lists_its_stages_and_blocks():
    plan = resolve({}, DEEP, epochs=13)
    assert [(s.name, s.first, s.last, s.sizes) for s in plan.stages] == [
        ("greedy", 1, 5, (784, 256, 40)), ("deep", 6, 13, DEEP)]
    assert plan.blocks == [(256, 40), (256, 128), (128, 40)]  # the greedy stage's first
    assert resolve({}, SHALLOW).blocks == [(120, 40)]
    assert resolve({"greedy_epochs": 0}, DEEPER).blocks == [(256, 128), (128, 64), (64, 40)]
    with pytest.raises(ArchitectureError, match="at least 3 positive integers"):
        resolve({}, (784, 40))


@pytest.mark.parametrize("sizes, greedy, limit, where", [
    ((784, 120, 40), 0, 159, "block \\(1, 2\\) has 120 \\+ 40 = 160"),        # the top block
    ((784, 100, 100, 10), 0, 199, "block \\(1, 2\\) has 100 \\+ 100 = 200"),   # the lowest
    ((784, 60, 100, 100, 10), 0, 199, "block \\(2, 3\\) has 100 \\+ 100 = 200"),  # a middle
    ((784, 60, 60, 150), 0, 209, "block \\(2, 3\\) has 60 \\+ 150 = 210"),     # a deep top
    ((784, 150, 20, 100), None, 249, "the greedy stage's block .* 150 \\+ 100 = 250"),
])
def test_the_capacity_limit_refuses_any_block_too_large_before_training(sizes, greedy, limit,
                                                                        where):
    d = datasets.synthetic(n=20, features=784, classes=2, seed=1)
    redundancy = sizes[-1] // 2
    model = LayerSweepClassifier(hidden_layer_sizes=sizes[1:-1], redundancy=redundancy,
                                 max_block_spins=limit, epochs=1,
                                 recipe={"greedy_epochs": greedy} if len(sizes) > 3 else None)
    with pytest.raises(BlockTooLargeError, match=where):
        model.fit(d.X, d.y)
    assert not hasattr(model, "trainer_")
    resolve(model.recipe, sizes).check_capacity(limit + 1)  # fits with one spin more


def test_a_recipe_is_a_parameter_object_for_scikit_learn():
    recipe = Recipe.of({"reads": 5})
    assert recipe.get_params()["reads"] == 5 and Recipe.of(None) == Recipe()
    assert recipe.set_params(cycles=2).cycles == 2
    with pytest.raises(ArchitectureError, match="unknown recipe field"):
        Recipe.of({"colour": "red"})
    with pytest.raises(ArchitectureError, match="^recipe must be a Recipe"):
        Recipe.of("fast")


def test_amplified_free_samples():
    """amplify: forward anneals (start random), one hidden layer, QP, at least two reads;
    the plan's free call becomes an amplified one; a CPU sampler is refused before
    training, a state-vector sampler's max_qubits is the capacity."""
    plan = resolve({"amplify": "split", "reads": 6}, (12, 4, 6))
    assert plan.recipe.start == "random" and plan.sweep().amplify == "split"
    assert plan.sweep().amplified_reads() == 3
    assert resolve({"amplify": "literal", "reads": 5}, (12, 4, 6)).sweep().amplified_reads() == 5
    assert [a.kind for a in plan.stages[0].asks] == ["amplified"]
    assert resolve({}, (12, 4, 6)).recipe.amplify == "none"
    for recipe, message in [({"amplify": "split", "start": "reference"}, "start='random'"),
                            ({"amplify": "split", "cycles": 2}, "cycles=1"),
                            ({"amplify": "split", "rule": "ep"}, "rule='qp'"),
                            ({"amplify": "split", "reads": 1}, "reads >= 2"),
                            ({"amplify": "grover"}, "amplify must be one of")]:
        with pytest.raises(ArchitectureError, match=re.escape(message)):
            resolve(recipe, (12, 4, 6))
    with pytest.raises(ArchitectureError, match="one hidden layer"):
        resolve({"amplify": "split"}, (12, 4, 4, 6))
    d = datasets.synthetic(n=30, features=12, classes=3, seed=0)
    from layersweep.exceptions import SamplerError
    from layersweep.samplers.statevector import StateVectorSampler

    with pytest.raises(SamplerError, match="needs a coherent annealer"):
        LayerSweepClassifier(hidden_layer_sizes=(4,), redundancy=2, epochs=1,
                             recipe={"amplify": "split"}).fit(d.X, d.y)
    with pytest.raises(BlockTooLargeError, match="capacity of 8"):
        LayerSweepClassifier(hidden_layer_sizes=(4,), redundancy=2, epochs=1,
                             sampler=StateVectorSampler(max_qubits=8)).fit(d.X, d.y)
    model = LayerSweepClassifier(hidden_layer_sizes=(4,), redundancy=2, epochs=1,
                                 recipe={"amplify": "split", "reads": 4}, random_state=0,
                                 sampler=StateVectorSampler(annealing_time=5.0)).fit(d.X, d.y)
    row = model.history_[0]
    assert row["anneals"] >= 30 * 2 and 0 < row["marked_probability"] < 1
