"""layersweep: train deep Ising-spin neural networks with annealers, two layers at a time.

Quantum propagation (Zhang & Kamenev, Commun. Phys. 8, 478 (2025)) with an active-layer sweep:
every two-layer block of an L-layer network is an Ising problem an annealer samples.
"""

__version__ = "0.1.0"
