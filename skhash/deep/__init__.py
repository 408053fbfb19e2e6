"""Deep hashers on PyTorch and skorch: DSH, DHN, HashNet, DNNH, ...

This is the only skhash package that imports torch and skorch. Importing
:mod:`skhash` does not import it; ``import skhash.deep`` does.
"""

try:
    import skorch  # noqa: F401
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "skhash.deep needs torch and skorch: install them with "
        "`pip install skhash[deep]`."
    ) from exc

__all__ = []
