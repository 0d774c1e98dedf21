"""The Monte Carlo risk engine: pure numpy, randomness only from an injected Generator."""
