"""hactl: a high-availability cluster manager as a declarative reconciler."""

__version__ = "0.1.0"
