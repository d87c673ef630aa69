"""git prov: a git-native provenance recorder."""

__version__ = "0.1.0"
