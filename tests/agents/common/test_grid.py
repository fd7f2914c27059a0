"""The grid helper every learner shares: points in order, validated, stacked hyperparams."""

import jax
import numpy as np
import pytest

from jaxrl.agents import ppo, tabular
from jaxrl.agents.common.grid import grid_points, hyperparams_grid, sweepable
from jaxrl.agents.tabular.q_learning import Q_LEARNING, SARSA


def test_points_are_the_cartesian_product_last_name_fastest():
    assert grid_points(a=[1, 2], b=["x", "y"]) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    with pytest.raises(ValueError, match="non-empty list"):
        grid_points(a=[])
    with pytest.raises(ValueError, match="non-empty list"):
        grid_points(a="abc")


def test_every_learner_shares_the_one_helper():
    assert ppo.hyperparams_grid is tabular.hyperparams_grid is hyperparams_grid


def test_a_grid_stacks_each_points_own_hyperparams():
    config = ppo.PPOConfig()
    grid, points = hyperparams_grid(config, learning_rate=[1e-4, 1e-3], gamma=[0.9])
    assert points == [{"learning_rate": 1e-4, "gamma": 0.9}, {"learning_rate": 1e-3, "gamma": 0.9}]
    for i, point in enumerate(points):
        one = config.replace(**point).hyperparams
        for got, want in zip(jax.tree.leaves(grid), jax.tree.leaves(one), strict=True):
            np.testing.assert_array_equal(got[i], want)


def test_static_settings_and_bad_values_are_one_line_errors():
    config = ppo.PPOConfig()
    assert "num_envs" not in sweepable(config) and "clip_eps" in sweepable(config)
    with pytest.raises(ValueError, match="'num_envs' cannot be swept in one program for PPOConfig"):
        hyperparams_grid(config, num_envs=[4, 8])
    with pytest.raises(ValueError, match="gamma"):
        hyperparams_grid(config, gamma=[0.9, 2.0])


def test_a_tabular_grid_sweeps_the_algorithm_too():
    grid, points = hyperparams_grid(
        tabular.TabularConfig(), algorithm=["q_learning", "sarsa"], epsilon=[0.1]
    )
    np.testing.assert_array_equal(grid.algorithm, [Q_LEARNING, SARSA])
    assert [p["algorithm"] for p in points] == ["q_learning", "sarsa"]
