"""Torch backend (GPU): Hamming distances as a matrix product of +-1 codes.

For codes ``u, v`` in {-1, +1}^b, ``hamming(u, v) = (b - <u, v>) / 2``. On a
CUDA device the product runs in half precision on tensor cores (products of
+-1 are exact and the accumulation is in float32, exact far beyond 2048 bits);
on a CPU, where half-precision matmuls are slow and may accumulate in half,
float32 is used. Each (query block x database chunk) tile is reduced to its
top-k by a single int64 key ``distance * n_db + index``, so ties are broken by
index, exactly as brute force; tiles are merged with the same key.
"""

import numpy as np

from skhash._kernels.bits import bits_to_signs, unpack
from skhash._validation import IntInterval


def _import_torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "algorithm='torch' needs torch: pip install 'skhash[deep]'."
        ) from exc
    return torch


class TorchSearcher:
    """Exact search by +-1 matrix products and ``torch.topk``, chunked.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n_db, n_bytes)
    device : str or None
        Torch device; None uses "cuda" when available, else "cpu".
    db_chunk : int
        Database codes per tile.
    query_block : int
        Queries per tile.
    """

    #: Valid ``algorithm_params`` (checked by HammingNeighbors before building).
    _parameter_constraints: dict = {
        "device": "no_validation",
        "db_chunk": [IntInterval(1, None, closed="left")],
        "query_block": [IntInterval(1, None, closed="left")],
    }

    name = "torch"

    def __init__(self, codes, device=None, db_chunk=1 << 18, query_block=4096):
        torch = _import_torch()
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif str(device).startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device={device!r} but CUDA is not available.")
        self.device = str(device)
        self.n_db, self.n_bytes = codes.shape
        self.n_bits = 8 * self.n_bytes
        self.db_chunk = int(db_chunk)
        self.query_block = int(query_block)
        self.codes = codes
        self._to_device()

    @property
    def _dtype(self):
        torch = _import_torch()
        return torch.float16 if self.device.startswith("cuda") else torch.float32

    def _signs(self, codes):
        torch = _import_torch()
        s = bits_to_signs(unpack(np.asarray(codes), self.n_bits), dtype=np.float32)
        return torch.from_numpy(s).to(device=self.device, dtype=self._dtype)

    def _to_device(self):
        self._db = [
            self._signs(self.codes[s : s + self.db_chunk])
            for s in range(0, self.n_db, self.db_chunk)
        ]

    def _distances(self, q, chunk):
        torch = _import_torch()
        dot = (q @ chunk.T).float()
        return torch.round((self.n_bits - dot) * 0.5).to(torch.int64)

    def kneighbors(self, codes, k, n_jobs=None):
        """k nearest codes of each query, by (distance, index)."""
        torch = _import_torch()
        n_q = codes.shape[0]
        out_d = np.empty((n_q, k), np.int32)
        out_i = np.empty((n_q, k), np.int64)
        scale = self.n_db
        for qs in range(0, n_q, self.query_block):
            q = self._signs(codes[qs : qs + self.query_block])
            best = None
            offset = 0
            for chunk in self._db:
                key = self._distances(q, chunk) * scale + (
                    torch.arange(chunk.shape[0], device=self.device) + offset
                )
                kc = min(k, chunk.shape[0])
                top = torch.topk(key, kc, dim=1, largest=False, sorted=False).values
                best = top if best is None else torch.cat((best, top), dim=1)
                if best.shape[1] > k:
                    best = torch.topk(
                        best, k, dim=1, largest=False, sorted=False
                    ).values
                offset += chunk.shape[0]
            best = torch.sort(best, dim=1).values.cpu().numpy()
            out_d[qs : qs + len(best)] = best // scale
            out_i[qs : qs + len(best)] = best % scale
        return out_d, out_i

    def radius_neighbors(self, codes, radius, n_jobs=None):
        """All codes within ``radius`` (inclusive), by (distance, index)."""
        torch = _import_torch()
        n_q = codes.shape[0]
        r = int(min(np.floor(radius), self.n_bits))
        dists = [[] for _ in range(n_q)]
        inds = [[] for _ in range(n_q)]
        for qs in range(0, n_q, self.query_block):
            q = self._signs(codes[qs : qs + self.query_block])
            offset = 0
            for chunk in self._db:
                d = self._distances(q, chunk)
                qq, jj = torch.nonzero(d <= r, as_tuple=True)
                dd = d[qq, jj].cpu().numpy().astype(np.int32)
                qq, jj = qq.cpu().numpy(), jj.cpu().numpy() + offset
                bounds = np.searchsorted(qq, np.arange(q.shape[0] + 1))
                for a in range(q.shape[0]):
                    lo, hi = bounds[a], bounds[a + 1]
                    if hi > lo:
                        dists[qs + a].append(dd[lo:hi])
                        inds[qs + a].append(jj[lo:hi].astype(np.int64))
                offset += chunk.shape[0]
        out_d, out_i = [], []
        for a in range(n_q):
            d = np.concatenate(dists[a]) if dists[a] else np.empty(0, np.int32)
            i = np.concatenate(inds[a]) if inds[a] else np.empty(0, np.int64)
            order = np.lexsort((i, d))
            out_d.append(d[order])
            out_i.append(i[order])
        return out_d, out_i

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_db", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        torch = _import_torch()
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            self.device = "cpu"
        self._to_device()
