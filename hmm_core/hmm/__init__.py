"""The hidden Markov model estimator, independent of the emission type.

- :mod:`~hmm_core.hmm.core`: settings, emission model, validated parameters, model files;
- :mod:`~hmm_core.hmm.inference`: scoring, decoding and sampling;
- :mod:`~hmm_core.hmm._training`: Baum-Welch, Viterbi training, counting fits, restarts;
- :mod:`~hmm_core.hmm.base`: :class:`BaseHMM`, the three combined;
- :mod:`~hmm_core.hmm.monitor`: EM convergence (:class:`ConvergenceMonitor`);
- :mod:`~hmm_core.hmm.higher_order`: order-k HMMs by state expansion.

The concrete models, one per emission type, are in :mod:`hmm_core.models`.
"""
