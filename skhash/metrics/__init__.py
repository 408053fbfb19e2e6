"""Retrieval metrics and scorers, computed the way the hashing papers do.

Every metric takes label-based relevance: single-label targets (1-D) match on
equal labels, multi-label targets (2-D 0/1 indicators) on at least one shared
label. Each docstring says how ties and empty results count and which papers
use that protocol; ``mean_average_precision(..., protocol=...)`` names the mAP
variants of the reference code.
"""

from skhash.metrics._ranking import (
    PROTOCOLS,
    average_precision,
    mean_average_precision,
    precision_at_k,
    precision_recall_curve,
    precision_within_radius,
    recall_at_r,
)
from skhash.metrics._scorers import (
    make_map_scorer,
    make_precision_at_k_scorer,
    map_scorer,
    score_searcher,
)

__all__ = [
    "PROTOCOLS",
    "average_precision",
    "make_map_scorer",
    "make_precision_at_k_scorer",
    "map_scorer",
    "mean_average_precision",
    "precision_at_k",
    "precision_recall_curve",
    "precision_within_radius",
    "recall_at_r",
    "score_searcher",
]
