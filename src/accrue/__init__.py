"""Accrue: B2B rebate management with programs as data and an engine exact to the cent."""

__version__ = "0.1.0"
