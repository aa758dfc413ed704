"""IDS Accountability: the drug accountability record of an Investigational Drug Service."""

__version__ = "0.1.0"
