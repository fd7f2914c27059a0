"""jaxrl.envs: pure, jittable environments with Gymnasium's semantics.

>>> from jaxrl import envs
>>> env, params = envs.make("CartPole-v1")
>>> obs, state = env.reset(jax.random.key(0), params)
>>> obs, state, reward, terminated, truncated, info = env.step(key, state, action, params)
"""

from jaxrl.envs import spaces
from jaxrl.envs.core import Environment, EnvParams, EnvState
from jaxrl.envs.registry import make, register, registered

register("CartPole-v1", "jaxrl.envs.classic_control.cartpole:CartPole")

__all__ = [
    "Environment",
    "EnvParams",
    "EnvState",
    "make",
    "register",
    "registered",
    "spaces",
]
