"""spotadvisor: FinOps and spot-risk advice for GPU fleets that serve LLMs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spotadvisor")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
