"""Pure NumPy/SciPy numerical kernels: arrays in, arrays out.

No input validation, no scikit-learn, no torch. The estimators in the sibling
packages validate their inputs and call into these functions.
"""
