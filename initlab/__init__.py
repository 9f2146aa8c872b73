"""initlab: how a neural network's initial weights decide whether and how fast it learns."""

__version__ = "0.2.0"
