"""unlearnlib: a reproducible study of machine unlearning for medical imaging."""
__version__ = "0.1.0"
