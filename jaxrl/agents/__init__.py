"""Learners, one folder per algorithm."""
