"""The Monte Carlo risk engine: numerical code compiled with numba, randomness only from an injected Generator."""
