"""The machine, its thread pools and the library versions of a run."""

from __future__ import annotations

import os
import platform

import numpy as np

import hmm_core


def machine_info():
    """CPU, cores, thread settings and threadpoolctl's view of the BLAS/OpenMP pools."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        cpu = platform.processor() or "unknown"
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    try:
        from threadpoolctl import threadpool_info

        pools = [{k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version",
                                         "threading_layer", "filepath")}
                 for p in threadpool_info()]
    except ImportError:
        pools = "threadpoolctl not installed"
    config = hmm_core.show_config(print_out=False)
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "usable_cores": affinity,
        "platform": platform.platform(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "hmm_core_openmp": config["openmp"],
        "hmm_core_max_threads": config["max_threads"],
        "loadavg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "threadpools": pools,
    }


def versions(with_hmmlearn):
    import scipy

    out = {"python": platform.python_version(), "hmm_core": hmm_core.__version__,
           "numpy": np.__version__, "scipy": scipy.__version__}
    if with_hmmlearn:
        import hmmlearn

        out["hmmlearn"] = hmmlearn.__version__
    try:
        import threadpoolctl

        out["threadpoolctl"] = threadpoolctl.__version__
    except ImportError:
        pass
    return out


def print_header(machine, vers):
    print("machine:")
    print(f"  cpu: {machine['cpu']}")
    print(f"  cores: {machine['logical_cores']} logical, {machine['usable_cores']} usable")
    print(f"  platform: {machine['platform']}")
    print(f"  OMP_NUM_THREADS={machine['OMP_NUM_THREADS']}  "
          f"OPENBLAS_NUM_THREADS={machine['OPENBLAS_NUM_THREADS']}")
    print(f"  hmm_core: openmp={machine['hmm_core_openmp']} "
          f"max_threads={machine['hmm_core_max_threads']}")
    if machine["loadavg_at_start"] is not None:
        print("  load average at start: " + " ".join(f"{x:.2f}" for x in
                                                    machine["loadavg_at_start"]))
    print("  threadpoolctl:")
    if isinstance(machine["threadpools"], str):
        print(f"    {machine['threadpools']}")
    else:
        for p in machine["threadpools"]:
            print(f"    {p['user_api']}/{p['internal_api']} {p['version']} "
                  f"num_threads={p['num_threads']} ({os.path.basename(p['filepath'] or '')})")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()))
