"""Structure of a model's chain.

- :mod:`~hmm_core.structure.topology`: allowed transitions (left-to-right,
  banded, masks) and tied parameters, kept by EM;
- :mod:`~hmm_core.structure.compose`: models built from models (concatenation, union).

Both are also importable as ``hmm_core.topology`` and ``hmm_core.compose``.
"""
