"""layersweep: train deep Ising-spin neural networks with annealers, two layers at a time.

Quantum propagation (Zhang & Kamenev, Commun. Phys. 8, 478 (2025)) with an active-layer sweep:
every two-layer block of an L-layer network is an Ising problem an annealer samples.

The main entry points: :class:`~layersweep.estimator.LayerSweepClassifier` (scikit-learn style),
:class:`~layersweep.network.Network`, :class:`~layersweep.recipe.Recipe` (how a run trains),
:class:`~layersweep.blocks.BlockProblem` and the block samplers in :mod:`layersweep.samplers`.
"""

__version__ = "0.1.0"

from .blocks import BlockProblem, BlockSamples  # noqa: E402
from .estimator import LayerSweepClassifier  # noqa: E402
from .network import Network  # noqa: E402
from .recipe import Plan, Recipe, resolve  # noqa: E402
from .samplers.bipartite import BipartiteSampler  # noqa: E402

__all__ = ["BipartiteSampler", "BlockProblem", "BlockSamples", "LayerSweepClassifier", "Network",
           "Plan", "Recipe", "resolve", "__version__"]
