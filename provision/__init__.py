"""provision: stand up a health or care site from one YAML file (NHS Internet First)."""

__version__ = "0.1.0"
