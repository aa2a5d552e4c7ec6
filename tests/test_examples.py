"""Smoke tests: every example runs end to end (small sizes) from a temporary directory."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(autouse=True)
def _outside_source_tree(tmp_path, monkeypatch):
    # `python script.py` puts the script's directory first on sys.path, and
    # the examples write files: run them in a scratch directory.
    monkeypatch.chdir(tmp_path)


def _run(script, *args):
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *args],
                            capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_seattle_weather(tmp_path):
    pytest.importorskip("matplotlib")
    out = _run("seattle_weather.py", "--regimes", "3", "--n-iter", "15", "--out", "plots")
    assert "Stationary distribution" in out and "Forecast from the last day" in out
    assert "Gaussian HMM with 3 weather regimes" in out
    for name in ("weather_chain_graph.png", "weather_regime_posteriors.png",
                 "weather_regime_graph.png", "weather_regime_ellipses.png"):
        assert (tmp_path / "plots" / name).stat().st_size > 5000
    assert (tmp_path / "plots" / "weather_chain.dot").read_text().startswith("digraph")


def test_dna_gc_segmentation(tmp_path):
    out = _run("dna_gc_segmentation.py", "--chromosomes", "2", "--length", "20000",
               "--mean-region", "2000", "--workdir", "dna")
    assert "$ hmm-core fit" in out and "$ hmm-core decode" in out
    accuracy = float(out.split("Overall: ")[1].split()[0])
    assert accuracy > 0.9
    for name in ("genome.fa", "gc_model.npz", "segments.tsv", "scores.csv", "fit.json"):
        assert (tmp_path / "dna" / name).exists()


def test_word_recognition():
    out = _run("word_recognition.py", "--train-per-word", "8", "--test-per-word", "4",
               "--n-iter", "5", "--states", "4")
    accuracy = float(out.split("Accuracy: ")[1].split()[0])
    assert accuracy > 0.5  # 8 words: chance is 0.125
    assert "Confusion matrix" in out
