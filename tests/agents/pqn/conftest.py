"""What PQN's tests share: a tiny config that compiles quickly, CartPole, and its training."""

import jax
import pytest

from jaxrl import envs
from jaxrl.agents import pqn

#: Three updates of 4 envs x 16 steps, 2 epochs of 2 minibatches, a 16-unit network; epsilon
#: decays over the first two updates.
TINY = pqn.PQNConfig(
    total_timesteps=4 * 16 * 3,
    num_envs=4,
    num_steps=16,
    num_epochs=2,
    num_minibatches=2,
    hidden_sizes=(16, 16),
    learning_rate=1e-3,
    epsilon_anneal_fraction=2 / 3,
)


@pytest.fixture(scope="module")
def cartpole():
    return envs.make("CartPole-v1")


@pytest.fixture(scope="module")
def tiny_train(cartpole):
    env, params = cartpole
    return jax.jit(pqn.make_train(TINY, env, params))
