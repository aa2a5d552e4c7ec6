"""The Python face of the compiled kernels.

The kernels (``_forward``, ``_viterbi``, ``_baumwelch``, ``_emissions`` and
their helpers, built from ``src/``) see only validated, C-contiguous arrays of
log-probabilities and a batch of sequences given by offsets. This package
prepares those arguments and holds every decision the kernels do not make:

- :mod:`~hmm_core.kernels.config`: build facts and thread counts;
- :mod:`~hmm_core.kernels.validation`: checks of probabilities, lengths and arrays;
- :mod:`~hmm_core.kernels.frames`: frame log-likelihoods held as a table and an index;
- :mod:`~hmm_core.kernels.chain`: a validated chain and the kernel calls for it.
"""
