"""The build: OpenMP compiled in, configuration visible, command line runs."""

import os
import subprocess
import sys

import pytest

import hmm_core


@pytest.fixture(autouse=True)
def _outside_source_tree(tmp_path, monkeypatch):
    # `python -m` and `python -c` put the working directory first on sys.path:
    # run them away from the source tree, whose hmm_core/ has no compiled kernels.
    monkeypatch.chdir(tmp_path)


def test_openmp_compiled_in():
    # A silently serial build is a bug on any machine whose compiler has OpenMP.
    if os.environ.get("HMM_CORE_ALLOW_NO_OPENMP") == "1":
        return
    assert hmm_core.openmp_enabled(), "kernels were built without OpenMP"


def test_show_config_reports_openmp(capsys):
    info = hmm_core.show_config()
    assert info["openmp"] == hmm_core.openmp_enabled()
    assert info["max_threads"] >= 1
    assert "openmp" in capsys.readouterr().out


def test_thread_count_honours_omp_num_threads():
    code = "import hmm_core; print(hmm_core.effective_n_threads())"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "1"


def test_thread_count_honours_threadpoolctl():
    threadpoolctl = __import__("threadpoolctl")
    if not hmm_core.openmp_enabled():
        return
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert hmm_core.effective_n_threads() == 1


def test_demo_runs_offline():
    out = subprocess.run([sys.executable, "-m", "hmm_core", "demo"], capture_output=True,
                         text=True, check=True, timeout=120).stdout
    assert "Transition matrix" in out
    assert "Log-likelihood" in out
    assert "Decoded regimes" in out


def test_cli_info_and_bad_argument():
    out = subprocess.run([sys.executable, "-m", "hmm_core", "info"], capture_output=True,
                         text=True, check=True).stdout
    assert "openmp" in out
    bad = subprocess.run([sys.executable, "-m", "hmm_core", "demo", "--states", "0"],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
