"""airspeed velocity (asv) suite: one long sequence block by block, and online inference.

A 16-state categorical model (4 symbols) and a uint8 sequence of ``T``
symbols (T = 10^6; 2,000 with ``HMM_CORE_BENCH_SMALL=1``), run block by block
(``hmm_core.hmm._longseq``, what models use above ``CHECKPOINT_MIN_BYTES``):

* ``LongSequence``: ``time_`` and ``peakmem_`` of ``score``, the E-step,
  Viterbi ``decode`` and ``posteriors_to_file``;
* ``Online``: the filter over the sequence in blocks of 1,000 frames, a
  single-frame ``update``, and online Viterbi in blocks of 1,000 frames.

``benchmarks/longseq.py`` prints the peak memory against T (up to 10^8) in
fresh processes.
"""

import os
import tempfile

import numpy as np

from hmm_core.hmm import _longseq
from hmm_core.models import CategoricalHMM

SMALL = os.environ.get("HMM_CORE_BENCH_SMALL", "").strip() not in ("", "0")
N_FRAMES = 2_000 if SMALL else 1_000_000


def _model(n=16, k=4):
    rng = np.random.default_rng(0)
    model = CategoricalHMM(n_components=n, n_features=k)
    model.startprob_ = rng.dirichlet(np.ones(n))
    model.transmat_ = rng.dirichlet(np.ones(n), size=n)
    model.emissionprob_ = rng.dirichlet(np.ones(k), size=n)
    X = rng.integers(0, k, size=(N_FRAMES, 1), dtype=np.uint8)
    return model, X


class LongSequence:
    """One sequence block by block (checkpointed forward-backward, two-pass Viterbi)."""

    params = [["score", "estep", "viterbi", "posteriors_to_file"]]
    param_names = ["op"]
    timeout = 600

    def setup(self, op):
        self.model, self.X = _model()
        self.folder = tempfile.mkdtemp()

    def _run(self, op):
        model, X = self.model, self.X
        if op == "score":
            _longseq.score_sequences(model, X)
        elif op == "viterbi":
            _longseq.viterbi(model, X)
        elif op == "estep":
            emission = model._get_emission()
            stats = emission.empty_stats(model.n_components)
            _longseq.estep(model, X,
                           on_block=lambda Xb, post: emission.accumulate(stats, Xb, post))
        else:
            model.posteriors_to_file(X, os.path.join(self.folder, "post.npy"))

    def time_op(self, op):
        self._run(op)

    def peakmem_op(self, op):
        self._run(op)


class Online:
    """Filtering and online Viterbi over frames that arrive over time."""

    timeout = 600

    def setup(self):
        self.model, X = _model()
        self.X = X.astype(np.int64)
        self.frame = self.X[:1]
        self.filt = self.model.filter()
        self.filt.update(self.frame)

    def time_filter_blocks_of_1000(self):
        filt = self.model.filter()
        for a in range(0, self.X.shape[0], 1000):
            filt.update(self.X[a:a + 1000])

    def time_filter_single_frame(self):
        self.filt.update(self.frame)

    def time_online_viterbi_blocks_of_1000(self):
        online = self.model.online_viterbi()
        for a in range(0, self.X.shape[0], 1000):
            online.update(self.X[a:a + 1000])
        online.finish()
