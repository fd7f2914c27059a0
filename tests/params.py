"""Test parameters shared across modules.

`registry_params()` parametrizes over every registered environment; all of them run in the
whole suite, and the quick loop (`pytest -m "not slow"`) keeps one environment per kind
(`QUICK_ENV_IDS`), so a per-env invariant broken anywhere still fails fast on the kind it
belongs to.
"""

import pytest

from jaxrl import envs

#: One environment per kind: discrete and continuous classic control, a grid world, a game.
QUICK_ENV_IDS = ("CartPole-v1", "Pendulum-v1", "GridWorld-FourRooms-v0", "ConnectFour-v0")


def registry_params(env_ids=None) -> list:
    """`pytest.param(env_id)` for every id in `env_ids` (default: the registry), marked slow
    unless it is in `QUICK_ENV_IDS`."""
    env_ids = envs.registered() if env_ids is None else env_ids
    return [
        pytest.param(env_id, marks=() if env_id in QUICK_ENV_IDS else pytest.mark.slow)
        for env_id in env_ids
    ]
