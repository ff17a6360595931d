"""bastide: converge a syndicat numérique's servers to its inventory, and prove it."""

__version__ = "0.1.0"
