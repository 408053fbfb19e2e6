"""Numerical kernels: NumPy/SciPy maths and every compiled (numba) kernel.

Arrays in, arrays out: no input validation, no scikit-learn, no torch. The
estimators in the sibling packages validate their inputs and call into these
functions. Compiled kernels import numba only through the JIT shim
(:mod:`skhash._kernels.jit`) and share one heap (:mod:`skhash._kernels.heap`);
importing this package imports neither.
"""
