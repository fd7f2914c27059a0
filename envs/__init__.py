"""jaxrl.envs: pure, jittable environments with Gymnasium's semantics.

>>> from jaxrl import envs
>>> env, params = envs.make("CartPole-v1")
>>> obs, state = env.reset(jax.random.key(0), params)
>>> obs, state, reward, terminated, truncated, info = env.step(key, state, action, params)
"""

from jaxrl.envs import spaces
from jaxrl.envs.core import Environment, EnvParams, EnvState
from jaxrl.envs.registry import make, register, registered

_BUILTIN = {
    "CartPole-v1": "jaxrl.envs.classic_control.cartpole:CartPole",
    "MountainCar-v0": "jaxrl.envs.classic_control.mountain_car:MountainCar",
    "MountainCarContinuous-v0": (
        "jaxrl.envs.classic_control.continuous_mountain_car:ContinuousMountainCar"
    ),
    "Acrobot-v1": "jaxrl.envs.classic_control.acrobot:Acrobot",
    "Pendulum-v1": "jaxrl.envs.classic_control.pendulum:Pendulum",
    "GridWorld-OpenRoom-v0": "jaxrl.envs.gridworld:open_room",
    "GridWorld-FourRooms-v0": "jaxrl.envs.gridworld:four_rooms",
    "GridWorld-CliffWalking-v0": "jaxrl.envs.gridworld:cliff_walking",
    "TicTacToe-v0": "jaxrl.envs.games.tic_tac_toe:TicTacToe",
    "ConnectFour-v0": "jaxrl.envs.games.connect_four:ConnectFour",
}
for _env_id, _entry_point in _BUILTIN.items():
    register(_env_id, _entry_point)

__all__ = [
    "Environment",
    "EnvParams",
    "EnvState",
    "make",
    "register",
    "registered",
    "spaces",
]
