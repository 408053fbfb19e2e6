"""Utilities: discovery of the estimators that skhash exports."""

from skhash.utils._discovery import all_estimators

__all__ = ["all_estimators"]
