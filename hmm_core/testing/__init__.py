"""Readable NumPy implementations of every algorithm: the oracle of the tests
and the baseline of the benchmarks (:mod:`hmm_core.testing.reference`, also
importable as ``hmm_core.reference``)."""
