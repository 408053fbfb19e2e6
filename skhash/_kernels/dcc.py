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


def dcc(B, Q, G, n_sweeps=10):
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

    Returns
    -------
    B : ndarray, shape (n, L)
        Codes in {-1, +1}, of ``Q``'s dtype; the objective is never larger than
        at the start. Sweeps stop early once a whole pass changes no bit.
    """
    B = np.array(B, dtype=Q.dtype, copy=True)
    L = B.shape[1]
    G = np.asarray(G, dtype=Q.dtype)
    for _ in range(int(n_sweeps)):
        changed = False
        for k in range(L):
            g = G[:, k].copy()
            g[k] = 0.0
            z = Q[:, k] - B @ g
            new = np.where(z >= 0, 1.0, -1.0).astype(B.dtype, copy=False)
            if not changed and np.any(new != B[:, k]):
                changed = True
            B[:, k] = new
        if not changed:
            break
    return B
