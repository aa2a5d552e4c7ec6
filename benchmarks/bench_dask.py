"""asv benchmarks of hmm_core.distributed on a LocalCluster of two single-thread workers.

Scoring a batch of sequences and one Baum-Welch iteration (ship the model,
E-steps on the workers, tree reduction, M-step), with the data already in
the workers' memory; ``time_empty_iteration`` is the fixed cost of an
iteration (near-empty partitions). ``HMM_CORE_BENCH_SMALL=1`` shrinks the
batch. The full table against the local run is ``benchmarks/dask_cluster.py``.
"""

import copy
import os

import numpy as np

SMALL = bool(os.environ.get("HMM_CORE_BENCH_SMALL"))


class DaskCluster:
    """Two worker processes of one thread; 10^6 frames (10^4 when small)."""

    timeout = 300
    number = 1
    repeat = 3

    def setup(self):
        from distributed import Client, LocalCluster, wait

        from hmm_core import distributed as hd
        from hmm_core.distributed import _worker
        from hmm_core.distributed._fit import _Driver

        from .dask_cluster import _data, _model

        n_frames = 10_000 if SMALL else 1_000_000
        X, lengths = _data(n_frames)
        self.model = _model(X, lengths)
        self.cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    host="127.0.0.1", dashboard_address=":0")
        self.client = Client(self.cluster)
        self.parts = hd.from_numpy(X, lengths, n_partitions=8)
        tiny = hd.from_numpy(X[:80], np.full(8, 10), n_partitions=8)
        self.drivers = []
        for parts in (self.parts, tiny):
            loaded = parts.submit(self.client, _worker.materialize)
            wait(loaded)
            self.drivers.append(_Driver(self.client, copy.deepcopy(self.model), loaded,
                                        parts.names, 8))

    def teardown(self):
        self.client.close()
        self.cluster.close()

    def time_score(self):
        from hmm_core import distributed as hd

        hd.score_sequences(self.model, self.parts, client=self.client)

    def time_em_iteration(self):
        self.drivers[0].model.m_step(self.drivers[0].estep())

    def time_empty_iteration(self):
        self.drivers[1].model.m_step(self.drivers[1].estep())
