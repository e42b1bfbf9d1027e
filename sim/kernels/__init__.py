"""Numba kernels over flat numpy arrays. They import only numpy, numba and math."""
