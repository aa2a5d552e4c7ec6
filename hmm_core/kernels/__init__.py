"""The Python face of the compiled kernels.

The compiled modules are named by algorithm: ``_forward`` (likelihood,
forward and backward lattices, posteriors), ``_viterbi`` (best paths),
``_baumwelch`` (the E-step statistics) and ``_emissions`` (emission
densities and M-step sums), each with a log-space, a scaled linear-domain and
a sparse variant where they apply; ``_openmp_helpers`` reports the build and
``_yardstick`` times the benchmarks' machine limit. Built from ``src/``, they
see only validated, C-contiguous arrays and a batch of sequences given by
offsets. This package prepares those arguments and makes every decision the
kernels do not:

- :mod:`~hmm_core.kernels.config`: build facts and thread counts;
- :mod:`~hmm_core.kernels.backend`: which kernel and path run a call, on how
  many threads (every threshold is there);
- :mod:`~hmm_core.kernels.validation`: checks of probabilities, lengths and arrays;
- :mod:`~hmm_core.kernels.frames`: frame log-likelihoods held as a table and an index;
- :mod:`~hmm_core.kernels.sparse`: a transition matrix in the sparse kernels' layouts;
- :mod:`~hmm_core.kernels.chain`: a validated chain and the kernel calls for it.
"""
