"""Datatorg: the data marketplace and living-lab platform of My Digital City, Halden."""

__version__ = "0.1.0"
