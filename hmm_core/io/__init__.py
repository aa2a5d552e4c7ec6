"""Files: model files, data formats and symbol alphabets.

- :mod:`~hmm_core.io.modelfile`: ``model.save(path)`` / :func:`hmm_core.load`
  (the model-file format is documented there);
- :mod:`~hmm_core.io.codec`: the values of model files and the registry of the
  classes that store themselves in them;
- :mod:`~hmm_core.io.formats`: FASTA/FASTQ, CSV/TSV and ``.npy``/``.npz`` readers and writers;
- :mod:`~hmm_core.io._alphabet`: DNA, RNA, protein and custom alphabets;
- :mod:`~hmm_core.io.sequences`: DataFrame rows grouped into sequences, and
  per-frame results split back per sequence.
"""

from hmm_core.io.modelfile import (
    FORMAT_VERSION,
    load,
    load_model,
    read_metadata,
    read_user_metadata,
    save_model,
)

__all__ = ["FORMAT_VERSION", "load", "load_model", "read_metadata", "read_user_metadata",
           "save_model"]
