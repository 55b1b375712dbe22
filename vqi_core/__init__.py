"""VQI engine: learn "good" from defect-free images, score new ones, localise defects."""

__version__ = "0.1.0"
