"""Loss functions of the deep hashing papers, one function per paper.

Each function takes torch tensors and returns a scalar tensor; the thin
``nn.Module`` wrappers serve skorch's ``criterion=``.
"""

__all__ = []
