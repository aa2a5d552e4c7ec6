"""Symbol alphabets for categorical data (re-exported by :mod:`hmm_core.formats`)."""

from __future__ import annotations

import numpy as np

__all__ = ["ALPHABETS", "Alphabet", "FormatError"]

#: Named alphabets (upper case; matching is case-insensitive).
ALPHABETS = {"dna": "ACGT", "rna": "ACGU", "protein": "ACDEFGHIKLMNPQRSTVWY"}


class FormatError(ValueError):
    """Malformed input file; the message names the file and, when known, the line."""


class Alphabet:
    """Symbols of categorical data, mapped to ``0..n-1`` case-insensitively.

    Parameters
    ----------
    symbols : sequence of str
        Distinct symbols (distinct ignoring case). Symbols of one character
        can encode FASTA; longer ones (e.g. ``"rain"``) suit table cells.
    name : str, optional
        Name shown in messages (``"DNA"``...).
    unknown : {"error", "missing"}
        What an unknown symbol becomes: an error, or -1 (a missing frame,
        which categorical models marginalise out).

    Examples
    --------
    >>> from hmm_core.formats import Alphabet
    >>> dna = Alphabet.parse("dna", unknown="missing")
    >>> dna.encode(b"ACgtN").tolist()
    [0, 1, 2, 3, -1]
    >>> dna.decode([3, 2, 1])
    'TGC'
    """

    def __init__(self, symbols, name=None, unknown="error"):
        symbols = [str(s) for s in symbols]
        if not symbols:
            raise ValueError("an alphabet needs at least one symbol")
        folded = [s.upper() for s in symbols]
        if any(not s.strip() for s in symbols) or len(set(folded)) != len(folded):
            raise ValueError(f"alphabet symbols must be non-blank and distinct ignoring "
                             f"case, got {symbols}")
        if unknown not in ("error", "missing"):
            raise ValueError(f"unknown must be 'error' or 'missing', got {unknown!r}")
        self.symbols = symbols
        self.name = name
        self.unknown = unknown
        self._index = {s: i for i, s in enumerate(folded)}
        self._table = None
        if all(len(s) == 1 and ord(s) < 128 for s in symbols):
            # Byte -> code lookup for vectorised FASTA encoding.
            table = np.full(256, -2, dtype=np.int64)
            for i, s in enumerate(symbols):
                table[ord(s.upper())] = table[ord(s.lower())] = i
            self._table = table

    @classmethod
    def parse(cls, spec, unknown="error"):
        """Build from a name (``DNA``, ``RNA``, ``protein``) or a custom list.

        Parameters
        ----------
        spec : str or sequence of str
            A named alphabet (any case), comma-separated symbols
            (``"sun,fog,rain"``), a string of one-character symbols
            (``"HL"``), or a sequence of symbols.
        unknown : {"error", "missing"}

        Returns
        -------
        Alphabet
        """
        if not isinstance(spec, str):
            return cls(list(spec), unknown=unknown)
        if spec.lower() in ALPHABETS:
            name = "protein" if spec.lower() == "protein" else spec.upper()
            return cls(ALPHABETS[spec.lower()], name=name, unknown=unknown)
        if "," in spec:
            return cls([s.strip() for s in spec.split(",")], unknown=unknown)
        return cls(list(spec), unknown=unknown)

    def __len__(self):
        return len(self.symbols)

    def __repr__(self):
        label = self.name or ",".join(self.symbols)
        return f"Alphabet({label!r}, unknown={self.unknown!r})"

    def to_json(self):
        """JSON description, stored with models fitted from the command line.

        Returns
        -------
        dict
            ``symbols`` and ``name``.
        """
        return {"symbols": self.symbols, "name": self.name}

    @classmethod
    def from_json(cls, data, unknown="error"):
        """Inverse of :meth:`to_json`.

        Parameters
        ----------
        data : dict
        unknown : {"error", "missing"}

        Returns
        -------
        Alphabet
        """
        return cls(data["symbols"], name=data.get("name"), unknown=unknown)

    def _unknown_error(self, symbol, where):
        label = self.name or "the alphabet " + ",".join(self.symbols)
        return FormatError(f"{where}: symbol {symbol!r} is not in {label} (use "
                           "--unknown missing to treat unknown symbols as missing)")

    def encode(self, data, where="input"):
        """Encode a string of one-character symbols.

        Parameters
        ----------
        data : bytes or str
        where : str
            Location used in error messages.

        Returns
        -------
        ndarray of int64
            -1 for an unknown symbol when ``unknown="missing"``.
        """
        if self._table is None:
            raise ValueError("this alphabet has multi-character symbols; it cannot read "
                             "FASTA sequences")
        raw = data.encode("latin-1") if isinstance(data, str) else data
        codes = self._table[np.frombuffer(raw, dtype=np.uint8)]
        bad = codes < 0
        if bad.any():
            if self.unknown == "error":
                first = int(np.argmax(bad))
                raise self._unknown_error(chr(raw[first]), f"{where}, position {first + 1}")
            codes[bad] = -1
        return codes

    def encode_token(self, token, where="input"):
        """Encode one symbol (a table cell).

        Parameters
        ----------
        token : str
            Matched ignoring case and surrounding spaces.
        where : str
            Location used in error messages.

        Returns
        -------
        int
            -1 for an unknown symbol when ``unknown="missing"``.
        """
        code = self._index.get(token.strip().upper())
        if code is None:
            if self.unknown == "error":
                raise self._unknown_error(token, where)
            return -1
        return code

    def decode(self, codes):
        """Decode ``codes`` into a string of symbols.

        Parameters
        ----------
        codes : array-like of int
            -1 (missing) becomes ``-``.

        Returns
        -------
        str
            Joined without separator for one-character symbols, else with commas.
        """
        sep = "" if self._table is not None else ","
        return sep.join("-" if c < 0 else self.symbols[c] for c in np.asarray(codes).ravel())
