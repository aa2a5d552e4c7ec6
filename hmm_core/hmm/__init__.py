"""The hidden Markov model estimator, independent of the emission type.

- :mod:`~hmm_core.hmm.base`: parameters, scoring, decoding and sampling (:class:`BaseHMM`);
- :mod:`~hmm_core.hmm._training`: Baum-Welch, Viterbi training, counting fits, restarts;
- :mod:`~hmm_core.hmm.monitor`: EM convergence (:class:`ConvergenceMonitor`);
- :mod:`~hmm_core.hmm.higher_order`: order-k HMMs by state expansion.

The concrete models, one per emission type, are in :mod:`hmm_core.models`.
"""
