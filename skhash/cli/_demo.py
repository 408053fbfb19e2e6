"""``skhash demo``: the classic hashers on scikit-learn's digits."""

import time


def run(args):
    """Print the mAP table of the demo."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skhash import ITQ, LSH, PCAH, HammingNeighbors, SpectralHashing

    X, y = load_digits(return_X_y=True)
    X_db, X_q, y_db, y_q = train_test_split(
        X, y, test_size=args.n_queries, stratify=y, random_state=args.random_state
    )
    methods = {
        "LSH": LSH,
        "PCAH": PCAH,
        "ITQ": ITQ,
        "SpectralHashing": SpectralHashing,
    }
    bits = args.n_bits
    print(
        f"skhash demo: scikit-learn digits ({X.shape[0]} x {X.shape[1]}), "
        f"{len(y_q)} queries vs {len(y_db)} database items (stratified),\n"
        "label ground truth, full-ranking mAP (ties by index), "
        f"random_state={args.random_state}\n"
    )
    header = f"{'method':<16}" + "".join(f"{b:>9} bits" for b in bits)
    print(header)
    print("-" * len(header))
    t0 = time.perf_counter()
    for name, cls in methods.items():
        row = f"{name:<16}"
        for b in bits:
            pipe = make_pipeline(
                StandardScaler(),
                cls(n_bits=b, random_state=args.random_state),
                HammingNeighbors(),
            )
            pipe.fit(X_db, y_db)
            row += f"{pipe.score(X_q, y_q):>14.4f}"
        print(row, flush=True)
    print(
        f"\n({time.perf_counter() - t0:.1f} s; chance level is about "
        f"{np.mean(np.bincount(y_db) / len(y_db)):.3f})"
    )
    return 0


def add_parser(add):
    """Add the ``demo`` subcommand; ``add(name, **kwargs)`` makes its parser."""
    demo = add(
        "demo",
        help="mAP of LSH/PCAH/ITQ/SpectralHashing on scikit-learn digits",
        description="Fit LSH, PCAH, ITQ and SpectralHashing on scikit-learn's "
        "digits (standardised) and print the full-ranking mAP of a stratified "
        "query set, label ground truth.",
    )
    demo.add_argument(
        "--n-bits", type=int, nargs="+", default=[16, 32, 64], help="code lengths"
    )
    demo.add_argument(
        "--n-queries", type=int, default=200, help="queries held out of digits"
    )
    demo.add_argument(
        "--random-state", type=int, default=0, help="seed of the split and methods"
    )
    return demo
