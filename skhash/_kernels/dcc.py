"""Discrete cyclic coordinate descent (DCC) for binary least-squares B-steps.

Shared by SDH (Shen et al., CVPR 2015) and UH-BDNN (Do et al., ECCV 2016).
Samples are rows. Both methods' B-steps minimise, over ``B`` in
``{-1, +1}^{n x L}``,

.. math:: f(B) = \\|Y - B W\\|_F^2 + \\nu \\|B - F\\|_F^2
          = \\operatorname{tr}(B G B^T) - 2 \\operatorname{tr}(B^T Q) + \\text{const}

with ``G = W W^T`` (``L x L``) and ``Q = Y W^T + nu F`` (``n x L``), using
``||b_i||^2 = L``. Rows of ``B`` are independent; one column (bit) ``k`` is
optimal, given the others, at ``b_k = sign(q_k - B_{-k} G_{-k, k})``, which
cannot increase ``f``. A zero argument (both signs equally good) maps to +1.
"""

import numpy as np


def binary_quadratic_objective(B, Q, G):
    """``tr(B G B^T) - 2 tr(B^T Q)``: the B-dependent part of ``f`` above."""
    return float(np.einsum("ij,ij->", B @ G, B) - 2.0 * np.einsum("ij,ij->", B, Q))


def dcc(B, Q, G, n_sweeps=10, chunk_size=2048):
    """Minimise ``tr(B G B^T) - 2 tr(B^T Q)`` over ``B`` in {-1, +1}, bit by bit.

    Parameters
    ----------
    B : ndarray, shape (n, L)
        Initial -1/+1 codes (warm start); not modified.
    Q : ndarray, shape (n, L)
        Linear term (``Y W^T + nu F``).
    G : ndarray, shape (L, L)
        Symmetric quadratic term (``W W^T``).
    n_sweeps : int, default=10
        Passes over the ``L`` bits.
    chunk_size : int, default=2048
        Rows processed together. Rows are independent problems, so the result
        does not depend on it; blocks that fit in cache make the ``n_sweeps *
        L`` bit updates cheap (one pass over ``B`` per block, not per bit).

    Returns
    -------
    B : ndarray, shape (n, L)
        Codes in {-1, +1}, of ``Q``'s dtype; the objective is never larger than
        at the start. A block of rows stops sweeping once a whole pass changes
        none of its bits (such rows are at a fixed point, so this equals
        sweeping every row until no bit of any row changes).
    """
    B = np.array(B, dtype=Q.dtype, copy=True)
    n, L = B.shape
    G = np.asarray(G, dtype=Q.dtype)
    # column k of Goff is G[:, k] with its diagonal entry zeroed
    Goff = G - np.diag(np.diag(G))
    for start in range(0, n, max(1, int(chunk_size))):
        Bc = B[start : start + chunk_size]  # a view: updated in place
        Qc = Q[start : start + chunk_size]
        for _ in range(int(n_sweeps)):
            changed = False
            for k in range(L):
                z = Qc[:, k] - Bc @ Goff[:, k]
                new = np.where(z >= 0, 1.0, -1.0).astype(B.dtype, copy=False)
                if not changed and np.any(new != Bc[:, k]):
                    changed = True
                Bc[:, k] = new
            if not changed:
                break
    return B
