"""Smoke tests of benchmarks/: the comparison script and the asv suite must not rot.

Tiny sizes only (a few seconds in all); no timing is asserted.
"""

import importlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench(monkeypatch_module):
    """The benchmarks package, imported with the asv small mode on."""
    monkeypatch_module.setenv("HMM_CORE_BENCH_SMALL", "1")
    monkeypatch_module.syspath_prepend(str(ROOT))
    names = ["compare", "compare_emissions", "memory", "bench_core", "bench_emissions",
             "bench_longseq"]
    mods = {}
    for name in names:
        full = f"benchmarks.{name}"
        if full in sys.modules:  # re-read SMALL
            mods[name] = importlib.reload(sys.modules[full])
        else:
            mods[name] = importlib.import_module(full)
    return mods


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_speed_targets(bench):
    target = bench["compare"].target
    assert target("long", "score", 4) == (5.0, None)
    assert target("long", "posteriors", 256) == (5.0, None)
    assert target("batch", "score", 4) == (5.0, 1.5)
    assert target("batch", "posteriors", 16) == (10.0, 1.5)
    assert target("long", "viterbi", 64) == (3.0, None)
    assert target("batch", "viterbi", 4) == (3.0, None)
    assert target("long", "em", 256) == (5.0, None)
    assert target("batch", "em", 4) == (5.0, None)
    assert target("batch", "em", 16) == (10.0, None)


def test_verdict(bench):
    c = bench["compare"]
    entry = {"workload": "batch", "op": "score", "n_components": 16,
             "timings": {"hmm_core": {"median": 1.0}, "reference": {"median": 2.0}},
             "hmmlearn_best": 11.0, "hmmlearn_best_estimate": 10.0}
    assert c.verdict(entry) == "PASS"
    entry["timings"]["reference"]["median"] = 1.2  # under 1.5x the lockstep reference
    assert c.verdict(entry) == "MISS"
    entry.update(hmmlearn_best=None, hmmlearn_best_estimate=100.0)
    entry["timings"]["reference"]["median"] = 2.0
    assert c.verdict(entry) == "PASS (est.)"


@pytest.mark.parametrize("emissions", ["categorical", "gaussian"])
def test_every_runner_agrees_with_the_reference(bench, emissions):
    c = bench["compare"]
    params, X, lengths = c.make_inputs(emissions, 3, 3, 40)
    run = c.runners(emissions)
    for op in c.OPS:
        hc = c._thin(op, run["hmm_core"](op, params, X, lengths))
        ref = c._thin(op, run["reference"](op, params, X, lengths))
        assert c.check_cell(op, hc, ref)["ok"], (emissions, op)
        for lib in ("hc_1t", "hl_log", "hl_scaling"):
            score, _ = run[lib](op, params, X, lengths)
            assert score == pytest.approx(ref[0], rel=1e-8), (emissions, op, lib)


def test_compare_main_tiny(bench, tmp_path, capsys):
    c = bench["compare"]
    out = tmp_path / "table.json"
    status = c.main(["--quick", "--sizes", "3", "--ops", "score,viterbi", "--budget", "5",
                     "--sections", "table,machine", "--json", str(out)])
    text = capsys.readouterr().out
    assert status == 0
    doc = json.loads(out.read_text())
    assert len(doc["results"]) == 2 * 2 * 2  # emissions x workloads x ops
    assert {r["emissions"] for r in doc["results"]} == {"categorical", "gaussian"}
    assert all(r["check"]["ok"] for r in doc["results"])
    assert all(r["status"].split()[0] in ("PASS", "MISS") for r in doc["results"])
    assert [r["n_components"] for r in doc["machine_limit"]] == [3]
    assert doc["machine_limit"][0]["percent"] > 0
    for name in ("hmmlearn scaling", "target", "status", "machine limit", "targets:"):
        assert name in text


def test_memory_subprocess(bench):
    mem = bench["memory"]
    res = mem.run_all(3_000, cases=("forward",))
    (case,) = res["cases"]
    assert "error" not in case, case
    assert case["tracemalloc_peak"] > 0 and case["status"] in ("PASS", "MISS")
    assert any("tracemalloc peak" in ln for ln in mem.report_lines(res))


def test_memory_case_in_process(bench):
    res = bench["memory"].measure_case("viterbi_1t", 20_000)
    # back-pointers: 1 byte per cell for N = 16 (plus small fixed allocations)
    assert 0.9 <= res["backpointer_bytes_per_cell"] < 1.5
    assert res["tracemalloc_peak"] > 0


def test_dgemv_rate(bench):
    c = bench["compare"]
    transmat = c.make_params(4)[1]
    res = c.dgemv_rate(transmat, 200, quick=True)
    assert res["cells_per_s"] > 0 and res["method"]


def _asv_methods(cls):
    prefixes = ("time_", "peakmem_", "track_", "mem_")
    return [m for m in dir(cls) if m.startswith(prefixes)]


@pytest.mark.parametrize("module", ["bench_core", "bench_emissions", "bench_longseq"])
def test_asv_suite_small(bench, module):
    """Every asv benchmark, at every small-mode parameter combination, runs."""
    import itertools

    mod = bench[module]
    classes = [v for k, v in vars(mod).items()  # asv skips names starting with "_"
               if isinstance(v, type) and v.__module__ == mod.__name__ and _asv_methods(v)
               and not k.startswith("_")]
    assert classes
    n_run = 0
    for cls in classes:
        combos = itertools.product(*cls.params) if hasattr(cls, "params") else [()]
        for combo in combos:
            obj = cls()
            if hasattr(obj, "setup"):
                obj.setup(*combo)
            for name in _asv_methods(cls):
                result = getattr(obj, name)(*combo)
                if name.startswith("track_"):
                    assert np.isfinite(result)
                n_run += 1
    assert n_run > 0


def test_small_mode_is_small(bench):
    assert os.environ["HMM_CORE_BENCH_SMALL"] == "1"
    core = bench["bench_core"]
    assert core.SMALL and core.SIZES == [4]
    assert max(n * t for n, t in core.WORKLOADS.values()) <= 1_000
