"""Helpers to compare a jaxrl env with Gymnasium's reference implementation."""

from __future__ import annotations

import gymnasium
import numpy as np


def gym_env(env_id: str):
    """Gymnasium's raw env (no wrappers: no TimeLimit, no order enforcing), reset once."""
    env = gymnasium.make(env_id).unwrapped
    env.reset(seed=0)
    return env


def gym_max_episode_steps(env_id: str) -> int:
    return gymnasium.spec(env_id).max_episode_steps


def near_boundary(values: np.ndarray, thresholds: np.ndarray, tol: float) -> np.ndarray:
    """Rows where any value lies within `tol` of a +-threshold: float32 may flip the flag."""
    return np.any(np.abs(np.abs(values) - thresholds) < tol, axis=-1)
