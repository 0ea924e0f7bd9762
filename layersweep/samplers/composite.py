"""Several block problems per QPU call: a dimod composite over disjoint embeddings.

:class:`TiledEmbeddingComposite` embeds each of up to ``len(embeddings)`` logical problems on
its own tile of a structured sampler (Ocean's ``EmbeddedStructure``), samples them in one call
and unembeds each answer (chain breaks resolved by the chosen method).
"""

from __future__ import annotations

import dimod
import numpy as np

from ..exceptions import EmbeddingError, SamplerError

class TiledEmbeddingComposite(dimod.ComposedSampler):
    """One problem per disjoint embedding ("tile") of a structured sampler, in one call.

    The role of dwave-system's ``ParallelEmbeddingComposite`` (whose ``sample_multiple`` this
    mirrors), plus what training needs from it: a chain-break method and each sample's
    chain-break fraction, a call with fewer problems than tiles, a check of the solver's ranges
    when ``auto_scale`` is off, and each tile's ``EmbeddedStructure`` built once (rebuilding it
    per call costs ~50 ms for K(120, 40) on Pegasus). With one tile it is
    ``FixedEmbeddingComposite`` (tests check both equivalences).

    Parameters
    ----------
    child
        a structured dimod sampler (``DWaveSampler``, ``MockDWaveSampler``, ...).
    embeddings
        disjoint ``{variable: (qubit, ...)}`` dicts over the same variables.
    """

    def __init__(self, child, embeddings):
        from dwave.embedding import EmbeddedStructure

        if not embeddings:
            raise EmbeddingError("TiledEmbeddingComposite needs at least one embedding")
        qubits = [q for emb in embeddings for chain in emb.values() for q in chain]
        if len(qubits) != len(set(qubits)):
            raise EmbeddingError("the embeddings share qubits: tiles must be disjoint")
        nodes, edges, _ = dimod.child_structure_dfs(child)
        missing = set(qubits).difference(nodes)
        if missing:
            raise EmbeddingError(f"{len(missing)} embedded qubits (e.g. {sorted(missing)[:5]}) "
                                 "are not in the solver's working graph")
        self._children = [child]
        self.embeddings = [dict(e) for e in embeddings]
        self._structures = [EmbeddedStructure(edges, emb) for emb in self.embeddings]
        props = _structured_properties(child)
        self.h_range = tuple(props.get("h_range", (-np.inf, np.inf)))
        self.j_range = tuple(props.get("j_range", (-np.inf, np.inf)))

    @property
    def children(self):
        return self._children

    @property
    def parameters(self):
        return dict(self.child.parameters, chain_strength=[], chain_break_method=[],
                    initial_states=[])

    @property
    def properties(self):
        return {"child_properties": self.child.properties, "embeddings": self.embeddings}

    @property
    def num_embeddings(self) -> int:
        return len(self.embeddings)

    def sample(self, bqm, **parameters):
        """One problem on the first tile (``initial_state`` in the problem's variables)."""
        state = parameters.pop("initial_state", None)
        results, info = self.sample_multiple(
            [bqm], initial_states=None if state is None else [state], **parameters)
        results[0].info.update(info)
        return results[0]

    def embed(self, bqms, chain_strength=None, auto_scale=True) -> dimod.BinaryQuadraticModel:
        """The tiled BQM of ``bqms`` (problem i on tile i), each tile scaled into the solver's
        ranges when ``auto_scale``; otherwise :class:`SamplerError` if a tile is out of range."""
        if not 1 <= len(bqms) <= self.num_embeddings:
            raise SamplerError(f"{len(bqms)} problems for {self.num_embeddings} tiles")
        strengths = chain_strength if isinstance(chain_strength, (list, tuple)) \
            else [chain_strength] * len(bqms)
        tiled = dimod.BinaryQuadraticModel.empty(dimod.SPIN)
        for structure, bqm, strength in zip(self._structures, bqms, strengths):
            embedded = _embed_one(structure, bqm, strength)
            if auto_scale:
                embedded.normalize(bias_range=self.h_range, quadratic_range=self.j_range)
            else:
                self._check_ranges(embedded)
            tiled.update(embedded)
        return tiled

    def _check_ranges(self, bqm):
        h, (_, _, j), _ = bqm.to_numpy_vectors()
        for name, values, (low, high) in (("h_range", h, self.h_range),
                                          ("j_range", j, self.j_range)):
            if len(values) and (values.min() < low or values.max() > high):
                raise SamplerError(
                    f"an embedded problem has biases in [{values.min():.3g}, {values.max():.3g}]"
                    f" outside the solver's {name} [{low}, {high}] (chain strength included): "
                    "turn auto_scale on, or lower the chain strength")

    def sample_multiple(self, bqms, initial_states=None, chain_strength=None,
                        chain_break_method=None, auto_scale=True, **parameters):
        """Sample ``bqms`` (at most one per tile) in one call to the child.

        ``initial_states``: one ``{variable: ±1}`` per problem (reverse annealing), spread over
        its chains. Returns ``([SampleSet per problem], child's info)``; every unembedded
        sample carries its ``chain_break_fraction``.
        """
        from dwave.embedding import unembed_sampleset

        tiled = self.embed(bqms, chain_strength, auto_scale)
        if initial_states is not None:
            active = tiled.variables
            parameters["initial_state"] = {
                q: int(state[v]) for emb, state in zip(self.embeddings, initial_states)
                for v, chain in emb.items() for q in chain if q in active}
        if "auto_scale" in self.child.parameters:
            parameters["auto_scale"] = auto_scale
        response = self.child.sample(tiled, **parameters)
        response.resolve()
        # plain dicts: Ocean's shortcut for chainless embeddings relabels the whole tiled
        # sampleset and fails when another tile's qubit has a variable's label
        results = [unembed_sampleset(response, embedding, bqm,
                                     chain_break_method=chain_break_method,
                                     chain_break_fraction=True)
                   for embedding, bqm in zip(self.embeddings, bqms)]
        return results, dict(response.info)


def _embed_one(structure, bqm, strength) -> dimod.BinaryQuadraticModel:
    """``structure.embed_bqm``, except for an embedding without chains, which Ocean relabels
    in place and which fails when a qubit's label is also a variable's (dwave-system 1.36)."""
    if structure.max_chain_length > 1:
        return structure.embed_bqm(bqm, chain_strength=strength, smear_vartype=dimod.SPIN)
    order = list(bqm.variables)
    linear, quadratic, offset = bqm.to_numpy_vectors(variable_order=order)
    return dimod.BinaryQuadraticModel.from_numpy_vectors(
        linear, quadratic, offset, bqm.vartype, variable_order=[structure[v][0] for v in order])


def _structured_properties(sampler) -> dict:
    """The properties of the structured sampler at the bottom of a stack of composites (where
    ``h_range`` and ``j_range`` live), found depth-first like ``dimod.child_structure_dfs``."""
    if "h_range" in (getattr(sampler, "properties", None) or {}):
        return sampler.properties
    for child in getattr(sampler, "children", ()):
        found = _structured_properties(child)
        if found:
            return found
    return {}
