"""st-spectrum: send ServiceTrade jobs to Trimble Spectrum as work orders."""

__version__ = "0.1.0"
