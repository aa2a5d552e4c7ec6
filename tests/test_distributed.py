"""hmm_core.distributed on a real Dask cluster: worker processes on the loopback
interface, started and stopped here. Results equal the local methods' (bit for
bit where a partition does not change the arithmetic), fits equal local fits,
a killed worker does not change the result, and bad data names its partition.
"""

import os
import signal
import subprocess
import sys
import time

import dask.array as da
import dask.bag as db
import numpy as np
import pytest
from _dask_tasks import kernel_section
from distributed import Client, LocalCluster

from hmm_core import GMMHMM, CategoricalHMM, GaussianHMM, topology
from hmm_core import distributed as hd
from hmm_core.io.formats import Alphabet, read_observations, write_fasta


@pytest.fixture(scope="module")
def client():
    # Two worker processes of two threads: kernels of a worker run with two
    # OpenMP threads, one call at a time.
    with LocalCluster(n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


def _symbols(seed=0, n_seq=60, n_symbols=4, missing=0.0):
    rng = np.random.RandomState(seed)
    lengths = rng.randint(5, 120, size=n_seq)
    X = rng.randint(0, n_symbols, size=(lengths.sum(), 1))
    if missing:
        X[rng.random_sample(X.shape[0]) < missing] = -1
    return X, lengths


def _gaussian(seed=0, n_seq=30, missing=0.0):
    rng = np.random.RandomState(seed)
    lengths = rng.randint(10, 150, size=n_seq)
    states = rng.randint(0, 3, size=lengths.sum())
    X = rng.normal(size=(lengths.sum(), 2)) + np.array([[0, 0], [3, 1], [-2, 4]])[states]
    if missing:
        X[rng.random_sample(X.shape[0]) < missing, 0] = np.nan
    return X, lengths


def _split(X, lengths, n_parts):
    """Sequences split into n_parts groups: (X, lengths) per group."""
    bounds = np.array_split(np.arange(lengths.size), n_parts)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    return [(X[offsets[b[0]]:offsets[b[-1] + 1]], lengths[b]) for b in bounds]


def _npz_files(tmp_path, X, lengths, n_files, stem="part"):
    paths, ids = [], []
    for k, (Xk, lk) in enumerate(_split(X, lengths, n_files)):
        names = [f"{stem}{k}_{i}" for i in range(lk.size)]
        path = str(tmp_path / f"{stem}{k}.npz")
        np.savez(path, X=Xk, lengths=lk, ids=np.array(names))
        paths.append(path)
        ids += names
    return paths, ids


@pytest.fixture(scope="module")
def categorical():
    X, lengths = _symbols()
    model = CategoricalHMM(3, n_iter=15, random_state=0).fit(X, lengths)
    return model, X, lengths


# ------------------------------------------------------------------ inference
def test_score_files_bit_for_bit_in_input_order(client, categorical, tmp_path):
    model, X, lengths = categorical
    paths, ids = _npz_files(tmp_path, X, lengths, 5)
    res = hd.score_sequences(model, hd.from_files(paths), client=client)
    assert res.ids == ids
    np.testing.assert_array_equal(res.lengths, lengths)
    np.testing.assert_array_equal(res.values["log_likelihood"],
                                  model.score_sequences(X, lengths))


def test_score_fasta_and_csv_files_read_by_workers(client, tmp_path):
    rng = np.random.RandomState(3)
    reads = ["".join(rng.choice(list("ACGT"), size=rng.randint(10, 90))) for _ in range(40)]
    paths = []
    for k in range(3):
        path = tmp_path / f"reads{k}.fa"
        with open(path, "w") as handle:
            write_fasta(handle, [f"r{k}_{i}" for i in range(k, 40, 3)], reads[k::3])
        paths.append(str(path))
    alphabet = Alphabet.parse("DNA")
    local = [read_observations(p, alphabet=alphabet) for p in paths]
    X = np.concatenate([o.X for o in local])
    lengths = np.concatenate([o.lengths for o in local])
    model = CategoricalHMM(2, n_iter=5, random_state=1).fit(X, lengths)
    res = hd.score_sequences(model, hd.from_files(paths, alphabet="DNA"), client=client)
    assert res.ids == [i for o in local for i in o.ids]
    np.testing.assert_array_equal(res.values["log_likelihood"], model.score_sequences(X, lengths))
    # one CSV per sequence
    csvs = []
    for k in range(2):
        path = tmp_path / f"seq{k}.csv"
        path.write_text("symbol\n" + "\n".join(map(str, X[lengths[:k].sum():][:lengths[k], 0]))
                        + "\n")
        csvs.append(str(path))
    res = hd.score_sequences(model, csvs, client=client)
    assert res.ids == ["seq0", "seq1"]
    np.testing.assert_array_equal(res.values["log_likelihood"],
                                  model.score_sequences(X[:lengths[:2].sum()], lengths[:2]))


def test_bag_and_array_inputs(client, categorical):
    model, X, lengths = categorical
    seqs = np.split(X[:, 0], np.cumsum(lengths)[:-1])
    local = model.score_sequences(X, lengths)
    res = hd.score_sequences(model, db.from_sequence(seqs, npartitions=4), client=client)
    assert res.ids == [str(i) for i in range(lengths.size)]
    np.testing.assert_array_equal(res.values["log_likelihood"], local)
    named = db.from_sequence([(f"s{i}", s) for i, s in enumerate(seqs)], npartitions=3)
    res = hd.score_sequences(model, hd.from_bag(named), client=client)
    assert res.ids == [f"s{i}" for i in range(lengths.size)]
    groups = _split(X, lengths, 3)
    arr = da.from_array(X, chunks=(tuple(g[0].shape[0] for g in groups), 1))
    res = hd.decode_sequences(model, hd.from_array(arr, [g[1] for g in groups]),
                              client=client, posteriors=True)
    logprob, path = model.decode_sequences(X, lengths)
    np.testing.assert_array_equal(res.values["states"], path)
    np.testing.assert_array_equal(res.values["logprob"], logprob)
    np.testing.assert_array_equal(res.values["posteriors"], model.predict_proba(X, lengths))


def test_gaussian_inference_matches_local(client):
    X, lengths = _gaussian(1)
    model = GaussianHMM(3, n_iter=10, random_state=0).fit(X, lengths)
    parts = hd.from_numpy(X, lengths, n_partitions=4)
    res = hd.predict_proba(model, parts, client=client)
    loglik, post = model.score_samples(X, lengths)
    np.testing.assert_allclose(res.values["posteriors"], post, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.values["log_likelihood"], model.score_sequences(X, lengths),
                               rtol=1e-12)
    res = hd.decode_sequences(model, parts, client=client, algorithm="map")
    np.testing.assert_array_equal(res.values["states"], model.decode(X, lengths, "map")[1])


def test_large_outputs_written_by_workers(client, categorical, tmp_path):
    model, X, lengths = categorical
    seqs = np.split(X, np.cumsum(lengths)[:-1])
    out = tmp_path / "out"
    out.mkdir()
    res = hd.decode_sequences(model, db.from_sequence(seqs, npartitions=3), client=client,
                              posteriors=True, output_dir=str(out))
    assert "states" not in res.values and "posteriors" not in res.values
    assert [os.path.basename(f) for f in res.files] == [f"decode-{i:05d}.npz" for i in range(3)]
    assert sorted(os.listdir(out)) == sorted(os.path.basename(f) for f in res.files)
    files = [np.load(f) for f in res.files]
    np.testing.assert_array_equal(np.concatenate([f["states"] for f in files]),
                                  model.decode(X, lengths)[1])
    np.testing.assert_array_equal(np.concatenate([f["posteriors"] for f in files]),
                                  model.predict_proba(X, lengths))
    assert [i for f in files for i in f["ids"].tolist()] == [str(i) for i in range(lengths.size)]
    np.testing.assert_array_equal(res.values["logprob"], model.decode_sequences(X, lengths)[0])


# ----------------------------------------------------------------------- fit
def _assert_same_fit(a, b, names):
    for name in names:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=1e-10,
                                   err_msg=name)
    assert a.monitor_.iter == b.monitor_.iter
    np.testing.assert_allclose(a.monitor_.history, b.monitor_.history, rtol=1e-12)


def test_fit_equals_local_with_restarts_priors_zeros_missing(client, tmp_path):
    X, lengths = _symbols(5, n_seq=50, missing=0.05)

    def make():
        model = CategoricalHMM(4, n_iter=25, tol=1e-8, random_state=7, n_init=3,
                               emissionprob_prior=1.5, transmat_prior=1.2, end_state=True)
        return topology.left_right(model, n_skips=1)

    local = make().fit(X, lengths)
    paths, _ = _npz_files(tmp_path, X, lengths, 4)
    remote = hd.fit(make(), hd.from_files(paths), client=client)
    assert np.all(remote.transmat_[np.tril_indices(4, -1)] == 0)  # zeros kept
    _assert_same_fit(local, remote, ("startprob_", "transmat_", "endprob_", "emissionprob_"))


def test_gaussian_fit_with_kmeans_init_and_nan(client):
    X, lengths = _gaussian(2, missing=0.03)
    local = GaussianHMM(3, n_iter=12, tol=1e-9, random_state=3, n_init=2,
                        covariance_type="full").fit(X, lengths)
    remote = hd.fit(GaussianHMM(3, n_iter=12, tol=1e-9, random_state=3, n_init=2,
                                covariance_type="full"),
                    hd.from_numpy(X, lengths, n_partitions=5), client=client, split_every=2)
    _assert_same_fit(local, remote, ("startprob_", "transmat_", "means_", "covars_"))


def test_gmm_fit_from_a_bag(client):
    X, lengths = _gaussian(4, n_seq=20)
    seqs = np.split(X, np.cumsum(lengths)[:-1])
    local = GMMHMM(2, n_mix=2, n_iter=6, tol=1e-9, random_state=0).fit(X, lengths)
    remote = hd.fit(GMMHMM(2, n_mix=2, n_iter=6, tol=1e-9, random_state=0),
                    db.from_sequence(seqs, npartitions=3), client=client)
    _assert_same_fit(local, remote, ("transmat_", "weights_", "means_", "covars_"))


def test_verbose_and_callback_run_on_the_client(client, categorical, capsys):
    _, X, lengths = categorical
    seen = []
    model = CategoricalHMM(2, n_iter=3, tol=0, random_state=0, verbose=True,
                           callback=lambda monitor: seen.append(monitor.iter))
    hd.fit(model, hd.from_numpy(X, lengths, 2), client=client)
    assert seen == [1, 2, 3]
    assert len(capsys.readouterr().err.strip().splitlines()) == 3


# -------------------------------------------------------------------- faults
def test_fit_survives_a_killed_worker(tmp_path):
    # A cluster of its own: the other tests never see the restarted worker.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        _killed_worker_fit(client, tmp_path)


def _killed_worker_fit(client, tmp_path):
    X, lengths = _symbols(8, n_seq=80)
    paths, _ = _npz_files(tmp_path, X, lengths, 6)

    def make(callback=None):
        return CategoricalHMM(3, n_iter=8, tol=0, random_state=2, callback=callback)

    undisturbed = hd.fit(make(), hd.from_files(paths), client=client)
    pids = client.run(os.getpid)  # worker processes this test's cluster started
    victim = sorted(pids)[0]
    killed = []

    def kill_once(monitor):
        if monitor.iter == 3 and not killed:
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(victim)
            # let the scheduler see the loss before the next broadcast
            deadline = time.monotonic() + 30
            while victim in client.scheduler_info()["workers"] and time.monotonic() < deadline:
                time.sleep(0.1)

    disturbed = hd.fit(make(kill_once), hd.from_files(paths), client=client)
    assert killed
    _assert_same_fit(undisturbed, disturbed, ("startprob_", "transmat_", "emissionprob_"))
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it
    assert pids[victim] not in client.run(os.getpid).values()


def test_bad_partition_fails_the_job_with_its_name(client, categorical, tmp_path):
    model, X, lengths = categorical
    paths, _ = _npz_files(tmp_path, X, lengths, 3)
    bad = tmp_path / "bad.npz"
    np.savez(bad, X=np.full((10, 1), 9), lengths=[10])  # symbol 9 of a 4-symbol model
    with pytest.raises(hd.PartitionError, match="bad.npz"):
        hd.score_sequences(model, hd.from_files(paths + [str(bad)]), client=client)
    with pytest.raises(hd.PartitionError, match="bad.npz"):
        hd.fit(CategoricalHMM(3, n_iter=3, n_features=4), hd.from_files(paths + [str(bad)]),
               client=client, init_frames=200)
    broken = tmp_path / "broken.fa"
    broken.write_text("ACGT\n")  # no header
    with pytest.raises(hd.PartitionError, match="broken.fa"):
        hd.score_sequences(model, hd.from_files([str(broken)], alphabet="ACGT"), client=client)
    seqs = [np.zeros((5, 1), int), np.zeros((0, 1), int)]
    with pytest.raises(hd.PartitionError, match="bag partition 1"):
        hd.score_sequences(model, db.from_sequence(seqs, npartitions=2), client=client)


# ------------------------------------------------------------------- threads
def test_kernels_use_the_workers_threads_one_call_at_a_time(client, categorical):
    model, _, _ = categorical
    futures = [client.submit(kernel_section, model, 0.3, pure=False) for _ in range(8)]
    reports = client.gather(futures)
    for r in reports:
        assert r["kernel"] == r["worker"] == r["n"] == 2
        assert all(b <= 2 for b in r["blas"])
    for pid in {r["pid"] for r in reports}:  # no two kernel sections of a worker overlap
        spans = sorted((r["start"], r["end"]) for r in reports if r["pid"] == pid)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_dask_is_imported_only_when_used(tmp_path):
    code = ("import sys, hmm_core, hmm_core.distributed as hd; "
            "hd.from_numpy([[0], [1]]); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed'}))")
    # Run outside the checkout, whose hmm_core/ has no compiled kernels.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_scheduler_local_n_and_missing_client(categorical):
    model, X, lengths = categorical
    with hd.connect("local:1") as client:
        assert len(client.scheduler_info()["workers"]) == 1
        res = hd.score_sequences(model, hd.from_numpy(X, lengths), client=client)
    np.testing.assert_array_equal(res.values["log_likelihood"], model.score_sequences(X, lengths))
    with pytest.raises(ValueError, match="local:N"):
        with hd.connect("local:x"):
            pass


# -------------------------------------------------------------- command line
def test_command_line_scheduler_gives_the_local_outputs(client, tmp_path):
    from hmm_core import load
    from hmm_core.cli import main

    rng = np.random.RandomState(4)
    reads = ["".join(rng.choice(list("ACGT"), size=rng.randint(20, 200))) for _ in range(60)]
    data = tmp_path / "reads.fa"
    with open(data, "w") as handle:
        write_fasta(handle, [f"r{i}" for i in range(60)], reads)
    address = client.scheduler.address
    base = ["--alphabet", "DNA", "-q"]
    for tag, extra in (("local", []), ("remote", ["--scheduler", address])):
        assert main(["fit", str(data), "--states", "2", "--n-iter", "5", "-o",
                     str(tmp_path / f"{tag}.npz"), *base, *extra]) == 0
        assert main(["score", str(tmp_path / "local.npz"), str(data), "--chunk-size", "2000",
                     "-o", str(tmp_path / f"{tag}.tsv"), *base, *extra]) == 0
        assert main(["decode", str(tmp_path / "local.npz"), str(data), "--chunk-size", "2000",
                     "-o", str(tmp_path / f"{tag}-paths.npz"), "--posteriors",
                     str(tmp_path / f"{tag}-post.npz"), *base, *extra]) == 0
    a, b = load(str(tmp_path / "local.npz")), load(str(tmp_path / "remote.npz"))
    np.testing.assert_allclose(a.transmat_, b.transmat_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(a.emissionprob_, b.emissionprob_, rtol=0, atol=1e-10)
    assert (tmp_path / "local.tsv").read_text() == (tmp_path / "remote.tsv").read_text()
    for name in ("paths", "post"):
        local, remote = (np.load(tmp_path / f"{t}-{name}.npz") for t in ("local", "remote"))
        for key in local.files:
            np.testing.assert_array_equal(local[key], remote[key])
