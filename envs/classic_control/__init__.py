"""Gymnasium's classic-control suite, one environment per file."""
