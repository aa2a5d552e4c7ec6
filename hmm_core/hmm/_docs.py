"""Documentation of the constructor parameters every HMM class shares.

The model classes document only their own parameters; their docstrings are
completed from these entries (see :func:`hmm_core.estimator.docs.document_parameters`).
"""

SHARED_PARAMETERS = {
    "n_components": """n_components : int
        Number of hidden states.""",
    "startprob_prior": """startprob_prior : float or array-like of shape (n_components,)
        Dirichlet concentration of the start probabilities (1 means no prior).
        It applies only where the current probability is non-zero, so
        structural zeros stay zero.""",
    "transmat_prior": """transmat_prior : float or array-like of shape (n_components, n_components)
        Dirichlet concentration of the transition probabilities, as
        ``startprob_prior``.""",
    "algorithm": """algorithm : {"viterbi", "map"}
        Decoder of :meth:`decode` and :meth:`predict`.""",
    "random_state": """random_state : int, RandomState or None
        Source of the random initialisation and of :meth:`sample`: None draws
        from NumPy's global RandomState, an int (``0..2**32 - 1``) seeds a new
        RandomState every time (so fitting twice gives the same model), a
        RandomState is used and advanced (see :mod:`hmm_core.estimator.base`).""",
    "n_iter": """n_iter : int
        Maximum number of EM iterations.""",
    "tol": """tol : float
        EM stops when the log-likelihood gain of an iteration falls below ``tol``.""",
    "verbose": """verbose : bool or int
        Print one line per EM iteration (iteration, log-likelihood, gain,
        time) to standard error.""",
    "params": """params : str
        The hmmlearn letters of the parameters EM updates: ``s`` start, ``t``
        transitions (and end probabilities), and the emission's letters.""",
    "init_params": """init_params : str
        Letters of the parameters initialised before EM; a parameter that is
        not set yet is initialised whatever the letters.""",
    "end_state": """end_state : bool
        Learn an explicit end state (``endprob_``). A model whose ``endprob_``
        was set by hand has one too.""",
    "endprob_prior": """endprob_prior : float or array-like of shape (n_components,)
        Dirichlet concentration of the end probabilities.""",
    "n_init": """n_init : int
        Number of EM runs from different random initialisations (drawn in
        turn from ``random_state``); ``fit`` keeps the one with the highest
        final log-likelihood.""",
    "n_threads": """n_threads : int or None
        Threads of the kernels; default from ``omp_get_max_threads()``.""",
    "training": """training : {"baum-welch", "viterbi"}
        EM with state posteriors, or hard EM (Viterbi training): decode the
        best path, re-estimate from its counts, repeat. Viterbi training
        reports the best-path log-probability in ``monitor_``.""",
    "emission_ties": """emission_ties : array-like of int of shape (n_components,), optional
        Emission class of each state; tied states share one emission
        distribution, so the emission parameters have ``n_classes`` rows and
        their statistics pool the posteriors of the tied states.""",
    "transmat_ties": """transmat_ties : (n_components, n_components) array-like of int, optional
        -1 for an untied transition, else a group id: the transitions of a
        group share one expected count (see :func:`hmm_core.topology.tied_map_rows`).""",
    "callback": """callback : callable or None
        Called as ``callback(monitor)`` after every EM iteration with the
        :class:`~hmm_core.ConvergenceMonitor` of the run (its ``history``
        holds the log-likelihoods so far); the model's parameters are already
        updated. With ``n_init > 1`` each run has its own monitor. Its return
        value is ignored; it is not written to model files.""",
    "online_decay": """online_decay : float in (0.5, 1], default 0.6
        ``kappa`` of :meth:`partial_fit` (online EM): its ``t``-th update
        (``t >= 1``) has weight ``(t + 2) ** -kappa``.""",
    "online_step": """online_step : float in (0, 1] or None
        A constant weight of every :meth:`partial_fit` update instead, which
        forgets old data at a fixed rate (for data that drift).""",
}
