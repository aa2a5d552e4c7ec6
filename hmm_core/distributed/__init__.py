"""Batch inference and Baum-Welch on a Dask cluster (``pip install 'hmm-core[dask]'``).

Sequences spread over many files or a Dask collection are scored, decoded
and fitted where they lie: each task reads or receives one partition, the
model travels to every worker once per job (once per iteration when
fitting), and only small results come back (per-sequence numbers, additive
E-step statistics); frame-sized outputs can be written by the workers to
files instead. Results are in input order, with sequence ids, and equal to
the local methods' results.

Dask is imported only when one of these functions runs, so importing this
module costs nothing without it.

=========================  =================================================
:func:`from_files`         one partition per data file, read by the workers
:func:`from_bag`           a ``dask.bag`` of sequences
:func:`from_array`         a ``dask.array`` of frames, lengths per block
:func:`from_numpy`         in-memory sequences split into partitions
:func:`score_sequences`    log-likelihood of every sequence
:func:`decode_sequences`   Viterbi or MAP paths (and posteriors)
:func:`predict_proba`      state posteriors of every frame
:func:`fit`                Baum-Welch: E-steps on the workers, M-step here
:func:`connect`            a client for a scheduler address or ``local:N``
=========================  =================================================

Examples
--------
>>> from dask.distributed import Client                        # doctest: +SKIP
>>> from hmm_core import CategoricalHMM, distributed as hd      # doctest: +SKIP
>>> client = Client("tcp://scheduler:8786")                     # doctest: +SKIP
>>> reads = hd.from_files(["a.fa", "b.fa"], alphabet="DNA")     # doctest: +SKIP
>>> model = hd.fit(CategoricalHMM(2, n_iter=50), reads)         # doctest: +SKIP
>>> res = hd.score_sequences(model, reads)                      # doctest: +SKIP
>>> res.ids[0], res.values["log_likelihood"][0]                 # doctest: +SKIP
"""

from hmm_core.distributed._client import connect
from hmm_core.distributed._fit import fit
from hmm_core.distributed._inference import (
    Results,
    decode_sequences,
    predict_proba,
    score_sequences,
)
from hmm_core.distributed._sources import (
    Partitions,
    from_array,
    from_bag,
    from_files,
    from_numpy,
)
from hmm_core.distributed._worker import PartitionError

__all__ = ["PartitionError", "Partitions", "Results", "connect", "decode_sequences", "fit",
           "from_array", "from_bag", "from_files", "from_numpy", "predict_proba",
           "score_sequences"]
