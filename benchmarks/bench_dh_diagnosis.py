"""DH diagnosis: how the three-layer DH network loses the input geometry.

A plain torch loop around ``skhash.deep.losses.dh_loss`` /
``dh_weight_penalty`` (not the estimator), so that the start, the objective's
scale and the weights can be varied, printing per evaluated epoch the mAP,
the saturation of each layer, the bit balance, the mean absolute correlation
between bits and the number of distinct database codes. Protocol of
``bench_ldph_dh_ksh_subic.py`` on MNIST (1,000 queries, 9,000 database images,
2,000 training images, Euclidean top-50 ground truth). Used for the diagnosis table
of ``doc/reproduction_ldph_dh_ksh_subic.rst``, e.g.::

    python benchmarks/bench_dh_diagnosis.py --bits 16 --init pca --norm dataset

``--init``: ``torch`` (torch defaults everywhere), ``skhash`` (DH's
``init="random"``: torch's default, Caffe Xavier for the last layer), ``pca``
(DH's ``init="pca"``) or ``xavier``; ``--norm``:
``batch`` (the variance and weight terms divided by the batch size)
or ``dataset`` (by the training-set size, as the DH estimator does);
``--opt sgd --momentum 0 --batch 0``: plain full-batch gradient descent (one
step per epoch), the paper's back-propagation updates.
"""

import argparse
import os
import time

import numpy as np
import torch
from bench_ldph_dh_ksh_subic import euclidean_map, load

from skhash import HammingNeighbors
from skhash.deep.losses import dh_loss, dh_weight_penalty

from _common import default_data_home

torch.set_num_threads(1)

p = argparse.ArgumentParser()
p.add_argument("--bits", type=int, default=16)
p.add_argument("--hidden", default="60,30")
p.add_argument("--init", default="torch")  # torch | pca
p.add_argument("--norm", default="batch")  # batch | dataset
p.add_argument("--batch", type=int, default=128)  # 0: full batch
p.add_argument("--epochs", type=int, default=30)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--opt", default="adam")  # adam | sgd
p.add_argument("--momentum", type=float, default=0.9)  # sgd only; 0: plain descent
p.add_argument("--l1", type=float, default=100.0)
p.add_argument("--l2", type=float, default=1e-3)
p.add_argument("--l3", type=float, default=1e-3)
p.add_argument("--eval", default="0,1,3,10,30")
p.add_argument("--tag", default="")
a = p.parse_args()

d = load("MNIST", "mnist", default_data_home(), 0, 2000)
X = d["X"].astype(np.float32)
Xtr = d["X_train"].astype(np.float32)
mean = Xtr.mean(0)
Xc = torch.from_numpy(Xtr - mean)
Xq = torch.from_numpy(X[d["q"]] - mean)
Xdb = torch.from_numpy(X[d["db"]] - mean)
torch.manual_seed(0)
sizes = [int(s) for s in a.hidden.split(",") if s] + [a.bits]
layers = []
w = X.shape[1]
for s in sizes:
    layers.append(torch.nn.Linear(w, s))
    w = s
if a.init == "pca":
    C = (Xc.T @ Xc / len(Xc)).double()
    evals, evecs = torch.linalg.eigh(C)
    V = evecs[:, torch.argsort(evals, descending=True)].float()
    with torch.no_grad():
        for i, lin in enumerate(layers):
            lin.bias.zero_()
            if i == 0:
                lin.weight.copy_(V[:, : lin.out_features].T)
            else:
                lin.weight.zero_()
                k = min(lin.in_features, lin.out_features)
                lin.weight[:k, :k] = torch.eye(k)
                if lin.out_features > lin.in_features:  # extra rows: small random
                    torch.nn.init.orthogonal_(lin.weight[k:], gain=1.0)
elif a.init == "skhash":  # nn.Linear default for hidden, Caffe xavier head
    import math

    lin = layers[-1]
    bound = math.sqrt(3.0 / lin.in_features)
    torch.nn.init.uniform_(lin.weight, -bound, bound)
    torch.nn.init.zeros_(lin.bias)
elif a.init == "xavier":
    for lin in layers:
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
params = [q for lin in layers for q in lin.parameters()]
opt = (
    torch.optim.Adam(params, lr=a.lr)
    if a.opt == "adam"
    else torch.optim.SGD(params, lr=a.lr, momentum=a.momentum)
)


def forward(x, keep=False):
    hs = []
    h = x
    for lin in layers:
        h = torch.tanh(lin(h))
        hs.append(h)
    return hs if keep else h


def evaluate(ep):
    with torch.no_grad():
        hs_db = forward(Xdb, keep=True)
        bq = (forward(Xq) >= 0).numpy()
        bdb = (hs_db[-1] >= 0).numpy()
    nn = HammingNeighbors().fit(np.packbits(bdb, axis=1))
    _, ind = nn.kneighbors(np.packbits(bq, axis=1), n_neighbors=bdb.shape[0])
    m = euclidean_map(d["gt"], ind)
    sat = [float((h.abs() > 0.95).float().mean()) for h in hs_db]
    B = bdb.astype(np.float64) * 2 - 1
    corr = np.corrcoef(B.T)
    off = np.abs(corr[~np.eye(len(corr), dtype=bool)])
    ncodes = len(np.unique(np.packbits(bdb, axis=1), axis=0))
    wn = [float(lin.weight.detach().norm()) for lin in layers]
    print(
        f"{a.tag} ep {ep:3d} mAP {m:.4f} sat/layer {[round(s, 2) for s in sat]} "
        f"bal {bdb.mean(0).min():.2f}-{bdb.mean(0).max():.2f} "
        f"|corr| {np.nanmean(off):.2f} "
        f"codes {ncodes} |W| {[round(x, 1) for x in wn]} load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


evals = {int(e) for e in a.eval.split(",")}
N = len(Xc)
batch = a.batch or N
g = torch.Generator().manual_seed(0)
t0 = time.time()
if 0 in evals:
    evaluate(0)
for ep in range(1, a.epochs + 1):
    perm = torch.randperm(N, generator=g)
    for s in range(0, N, batch):
        xb = Xc[perm[s : s + batch]]
        n = len(xb)
        h = forward(xb)
        W = [lin.weight for lin in layers]
        c = [lin.bias for lin in layers]
        if a.norm == "batch":  # current skhash: J(batch)/n
            loss = dh_loss(
                h, variance_weight=a.l1, orthogonality_weight=0, weight_decay=0
            )
            loss = (
                loss
                + dh_weight_penalty(W, c, orthogonality_weight=a.l2, weight_decay=a.l3)
                / n
            )
        else:  # the full-batch objective J(N_train)/N_train, estimated on the batch
            B = torch.where(h >= 0, 1.0, -1.0).detach()
            quant = 0.5 * ((B - h) ** 2).sum(1).mean()
            hc = h - h.mean(0, keepdim=True)
            var = (hc * hc).sum(1).mean() / 2.0
            loss = (
                quant
                - a.l1 / N * var
                + dh_weight_penalty(W, c, orthogonality_weight=a.l2, weight_decay=a.l3)
                / N
            )
        opt.zero_grad()
        loss.backward()
        opt.step()
    if ep in evals:
        evaluate(ep)
print(f"{a.tag} done {time.time() - t0:.0f}s", flush=True)
