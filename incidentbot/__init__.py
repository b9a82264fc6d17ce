"""GitHub-native incident management: the issue is the incident."""

__version__ = "0.1.0"
