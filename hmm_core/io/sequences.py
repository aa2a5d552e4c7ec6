"""Sequences as users hold them: grouped table rows in, per-sequence results out.

Every model method takes either hmmlearn's concatenated ``X`` with
``lengths``, or a list (any iterable, or a mapping) of per-sequence arrays.
:func:`sequences_from_frame` turns a pandas DataFrame with a sequence-id
column into such a mapping, and :func:`split_sequences` splits a per-frame
result (``predict``, ``predict_proba``, ``decode``'s path) back into one
array per sequence.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sequences_from_frame", "split_sequences"]


def split_sequences(values, lengths):
    """Split a per-frame result into one array per sequence.

    Parameters
    ----------
    values : array-like of shape (n_samples, ...)
        A result with one row per frame of the concatenated sequences, such
        as the output of ``predict`` or ``predict_proba``.
    lengths : array-like of int, or iterable of array-like
        The sequence lengths, or the sequences themselves (the list given to
        the model): their lengths are taken.

    Returns
    -------
    list of ndarray
        ``values`` split along its first axis; views, not copies.

    Raises
    ------
    ValueError
        When the lengths do not sum to the number of rows of ``values``.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core import split_sequences
    >>> split_sequences(np.arange(5), [2, 3])
    [array([0, 1]), array([2, 3, 4])]
    """
    values = np.asarray(values)
    if hasattr(lengths, "keys") and hasattr(lengths, "values"):
        lengths = list(lengths.values())
    items = list(lengths)
    if items and all(hasattr(item, "__len__") for item in items):
        sizes = [len(item) for item in items]
    else:
        sizes = [int(n) for n in np.asarray(items).ravel()] if items else []
    if not sizes or min(sizes) < 1:
        raise ValueError("lengths must be positive integers (or the sequences themselves)")
    n_rows = values.shape[0] if values.ndim else 0
    if sum(sizes) != n_rows:
        raise ValueError(f"the lengths sum to {sum(sizes)} but the values have {n_rows} rows")
    return np.split(values, np.cumsum(sizes)[:-1])


def _group_codes(ids):
    """Codes 0..G-1 of ``ids`` in order of first appearance, and the distinct ids."""
    import pandas as pd  # the caller holds a DataFrame, so pandas is installed

    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    if codes.size and codes.min() < 0:
        raise ValueError("the sequence-id column has missing values: every row needs an id")
    return codes, [u.item() if hasattr(u, "item") else u for u in uniques]


def sequences_from_frame(frame, by, columns=None, return_rows=False):
    """Group the rows of a table into sequences by an id column.

    The rows need not be sorted: every row goes to the sequence of its id,
    in the order the rows appear, and the sequences are in the order their
    ids first appear. pandas is imported only here, and only to read the
    frame's columns; it is an optional dependency of hmm_core.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per frame.
    by : str
        The column holding each row's sequence id.
    columns : str or list of str, optional
        The feature columns, in order; by default every column but ``by``.
        A single name gives 1-D sequences (symbols of a categorical model).
    return_rows : bool, default False
        Also return where each concatenated frame came from, to put a
        per-frame result back into the frame's row order.

    Returns
    -------
    sequences : dict
        Sequence id -> ndarray of that sequence's frames; pass it (or its
        ``values()``) to any model method as ``X``.
    rows : ndarray of int64, shape (n_rows,)
        Only with ``return_rows``: ``rows[k]`` is the position in ``frame``
        of the ``k``-th frame of the concatenated sequences, so
        ``out[rows] = model.predict(sequences)`` writes the predictions in
        row order.

    Raises
    ------
    ValueError
        For an empty frame, a missing column, or a row without an id.

    Examples
    --------
    >>> import pandas as pd
    >>> from hmm_core import sequences_from_frame
    >>> df = pd.DataFrame({"id": ["b", "a", "b"], "x": [1.0, 2.0, 3.0]})
    >>> seqs = sequences_from_frame(df, "id", "x")
    >>> list(seqs), seqs["b"].tolist()
    (['b', 'a'], [1.0, 3.0])
    """
    if by not in frame.columns:
        raise ValueError(f"no column {by!r} (columns: {', '.join(map(str, frame.columns))})")
    if len(frame) == 0:
        raise ValueError("the frame has no rows")
    single = isinstance(columns, str)
    names = [columns] if single else (
        [c for c in frame.columns if c != by] if columns is None else list(columns))
    missing = [c for c in names if c not in frame.columns]
    if missing or not names:
        raise ValueError(f"no column {missing[0]!r} (columns: "
                         f"{', '.join(map(str, frame.columns))})" if missing
                         else "the frame has no feature column besides the id column")
    codes, ids = _group_codes(frame[by].to_numpy())
    rows = np.argsort(codes, kind="stable").astype(np.int64)  # stable: rows keep their order
    values = frame[names].to_numpy()[rows]
    if single:
        values = values[:, 0]
    sizes = np.bincount(codes, minlength=len(ids))
    parts = np.split(values, np.cumsum(sizes)[:-1])
    sequences = dict(zip(ids, parts, strict=True))
    return (sequences, rows) if return_rows else sequences
