"""The Gymnasium adapters: the Gym loop verbatim on every env, check_env, the vector env's
SAME_STEP autoreset, and that `import jaxrl` never imports Gymnasium."""

import subprocess
import sys

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402
from gymnasium.vector import AutoresetMode  # noqa: E402

import jaxrl.envs.gymnasium_interop as gymnasium_interop  # noqa: E402
from jaxrl import envs  # noqa: E402

GYM_IDS = [f"jaxrl/{env_id}" for env_id in envs.registered()]


@pytest.mark.parametrize("gym_id", GYM_IDS)
def test_the_gym_loop_runs_verbatim(gym_id):
    env = gym.make(gym_id)
    observation, info = env.reset(seed=42)
    episodes = 0
    for _ in range(1000):
        action = env.action_space.sample()
        observation, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            observation, info = env.reset()
            episodes += 1
    env.close()
    assert env.observation_space.contains(observation)
    assert episodes >= 1  # every env's time limit is at most 1000 steps


@pytest.mark.parametrize("gym_id", GYM_IDS)
def test_passes_gymnasiums_env_checker(gym_id):
    check_env(gym.make(gym_id).unwrapped, skip_render_check=True)


def test_spec_carries_the_time_limit_and_truncates_there():
    env = gym.make("jaxrl/MountainCar-v0")
    assert env.spec.max_episode_steps == 200
    env.reset(seed=0)
    for t in range(200):
        _, reward, terminated, truncated, _ = env.step(1)  # no push: never reaches the goal
        assert reward == -1.0 and not terminated
        assert truncated == (t == 199)


def test_reset_with_a_seed_is_reproducible():
    env = gym.make("jaxrl/CartPole-v1")
    first, _ = env.reset(seed=3)
    trajectory = [env.step(i % 2)[0] for i in range(5)]
    again, _ = env.reset(seed=3)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(trajectory, [env.step(i % 2)[0] for i in range(5)])
    other, _ = env.reset(seed=4)
    assert not np.array_equal(first, other)


def test_single_env_matches_gymnasium_cartpole_dynamics():
    env = gym.make("jaxrl/CartPole-v1").unwrapped
    reference = gym.make("CartPole-v1").unwrapped
    obs, _ = env.reset(seed=0)
    reference.reset(seed=0)
    reference.state = obs.astype(np.float64)
    for t in range(30):
        mine = env.step(t % 2)
        theirs = reference.step(t % 2)
        np.testing.assert_allclose(mine[0], theirs[0], rtol=1e-5, atol=1e-5)
        assert mine[1:4] == theirs[1:4]
        if mine[2]:
            break


def test_single_env_steps_like_the_native_env_whatever_form_the_action_takes():
    """Python ints, NumPy ints and 0-d arrays (the cached and uncached paths) step alike, and the
    adapter's trajectory is the native `step_without_reset` one from the same state."""
    import jax

    trajectories = []
    for form in (int, np.int64, lambda a: np.asarray(a, np.int32), lambda a: np.asarray([a])[0]):
        env = gym.make("jaxrl/CartPole-v1").unwrapped
        obs, _ = env.reset(seed=5)
        steps = [env.step(form(t % 2)) for t in range(12)]
        trajectories.append((obs, steps))
    for obs, steps in trajectories[1:]:
        np.testing.assert_array_equal(obs, trajectories[0][0])
        for mine, first in zip(steps, trajectories[0][1], strict=True):
            np.testing.assert_array_equal(mine[0], first[0])
            assert mine[1:4] == first[1:4]
    native, params = envs.make("CartPole-v1")
    native_step = jax.jit(
        lambda state, action: native.step_without_reset(jax.random.key(0), state, action, params)
    )
    obs, steps = trajectories[0]
    state = native.reset(jax.random.key(0), params)[1]
    state = state.replace(x=obs[0], x_dot=obs[1], theta=obs[2], theta_dot=obs[3])
    for t, (mine_obs, reward, terminated, truncated, info) in enumerate(steps):
        native_obs, state, native_reward, native_terminated, _, _ = native_step(state, t % 2)
        np.testing.assert_allclose(mine_obs, np.asarray(native_obs), rtol=1e-6, atol=1e-7)
        assert (reward, terminated, truncated, info) == (
            float(native_reward),
            bool(native_terminated),
            False,
            {},
        )


def test_single_env_outputs_are_writable_numpy_values():
    env = gym.make("jaxrl/Pendulum-v1")
    obs, _ = env.reset(seed=0)
    step_obs, reward, terminated, truncated, _ = env.step(np.array([0.5], np.float32))
    for array in (obs, step_obs):
        assert isinstance(array, np.ndarray) and array.dtype == np.float32 and array.shape == (3,)
        array[0] = 7.0  # callers may write in place
    assert type(reward) is float and type(terminated) is bool and type(truncated) is bool


def test_stochastic_single_env_is_reproducible_and_episodes_differ():
    """GridWorld's slips draw from a key folded with the step count: the same seed gives the same
    episodes, and consecutive episodes (reset without a seed) are not copies of each other."""

    def episodes(seed, count=4):
        env = gym.make("jaxrl/GridWorld-FourRooms-v0", slip=0.5)
        env.reset(seed=seed)
        out = []
        for _ in range(count):
            env.reset()
            out.append([tuple(env.step(t % 4)[0].argmax() for t in range(40))])
        return out

    first = episodes(1)
    assert first == episodes(1)
    assert len({tuple(episode[0]) for episode in first}) > 1


def test_module_colon_id_form_needs_no_prior_import():
    code = (
        "import gymnasium as gym;"
        "env = gym.make('jaxrl.envs.gymnasium_interop:jaxrl/Pendulum-v1');"
        "obs, _ = env.reset(seed=0); print(obs.shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(3,)"


def test_importing_jaxrl_does_not_import_gymnasium_or_gymnax():
    code = (
        "import sys, jaxrl, jaxrl.envs; from jaxrl.agents import ppo;"
        "print(sorted(m for m in ('gymnasium', 'gymnax', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_vector_env_declares_same_step_autoreset_and_batches_spaces():
    vec = gym.make_vec("jaxrl/Acrobot-v1", num_envs=8, vectorization_mode="vector_entry_point")
    assert isinstance(vec.unwrapped, gymnasium_interop.GymnasiumVectorEnv)
    assert vec.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert vec.observation_space.shape == (8, 6)
    assert vec.single_action_space == gym.spaces.Discrete(3)
    obs, _ = vec.reset(seed=0)
    assert obs.shape == (8, 6) and obs.dtype == np.float32


def test_vector_env_same_step_autoreset_puts_final_obs_in_infos():
    vec = gym.make_vec("jaxrl/CartPole-v1", num_envs=16, vectorization_mode="vector_entry_point")
    obs, _ = vec.reset(seed=1)
    ended_any = False
    for _ in range(60):
        previous = obs
        obs, rewards, terminations, truncations, infos = vec.step(np.ones(16, np.int64))
        assert rewards.shape == (16,) and terminations.dtype == bool
        ended = terminations | truncations
        if ended.any():
            ended_any = True
            mask = infos["_final_obs"]
            np.testing.assert_array_equal(mask, ended)
            # The final observation is the pole past its threshold (pushed right all along);
            # the returned one is a fresh episode's, inside [-0.05, 0.05].
            final = infos["final_obs"][ended]
            assert np.all(np.abs(final[:, 2]) > 0.2 - 1e-3) or np.all(np.abs(final[:, 0]) > 2.4)
            assert np.all(np.abs(obs[ended]) <= 0.05)
            assert not np.allclose(previous[ended], obs[ended])
        else:
            assert "final_obs" not in infos
    assert ended_any


@pytest.mark.parametrize(
    "env_id, num_envs, max_steps, carry_packed",
    [
        ("CartPole-v1", 2048, 3, True),
        ("MountainCar-v0", 5, None, True),
        ("Pendulum-v1", 1030, 4, True),
        ("CartPole-v1", 1030, 3, False),
        ("GridWorld-OpenRoom-v0", 7, None, False),
    ],
)
def test_vector_env_returns_what_step_batch_computes(
    env_id, num_envs, max_steps, carry_packed, monkeypatch
):
    """Bit for bit the native batch step from the same key and state, through the packed
    array: large batches (fused reset pools, overflowing when every env truncates at once)
    and small ones, with the carry packed in the result or kept apart (as for many envs)."""
    import jax

    if not carry_packed:
        monkeypatch.setattr(gymnasium_interop, "PACKED_CARRY_MAX_ENVS", num_envs - 1)
    vec = gymnasium_interop.GymnasiumVectorEnv(
        env_id, num_envs=num_envs, max_episode_steps=max_steps
    )
    assert vec._carry_packed == carry_packed
    vec.reset(seed=3)
    vec.action_space.seed(0)
    env, params = vec._env, vec._params
    native_step = jax.jit(lambda key, state, actions: env.step_batch(key, state, actions, params))
    key_data, state = vec._carry_of(vec._device)
    all_ended_at_once = False
    for _ in range(6):
        actions = vec.action_space.sample()
        key, key_step = envs.numerics.split(jax.random.wrap_key_data(key_data), 2)
        native = native_step(key_step, state, actions.astype(vec._action_dtype))
        native_obs, state, native_reward, native_terminated, native_truncated, info = native
        key_data = jax.random.key_data(key)
        obs, reward, terminated, truncated, infos = vec.step(actions)
        np.testing.assert_array_equal(obs, np.asarray(native_obs))
        np.testing.assert_array_equal(reward, np.asarray(native_reward))
        np.testing.assert_array_equal(terminated, np.asarray(native_terminated))
        np.testing.assert_array_equal(truncated, np.asarray(native_truncated))
        ended = terminated | truncated
        all_ended_at_once |= bool(ended.all())
        if ended.any():
            np.testing.assert_array_equal(
                infos["final_obs"][ended], np.asarray(info["final_observation"])[ended]
            )
        for array in (obs, reward, terminated, truncated):
            assert array.flags.writeable  # callers may write in place
    # With a time limit every env ends at the same step: more resets than one pool holds.
    assert all_ended_at_once == (max_steps is not None)


def test_vector_env_honours_max_episode_steps_and_rejects_bad_actions():
    vec = gym.make_vec(
        "jaxrl/Pendulum-v1",
        num_envs=4,
        vectorization_mode="vector_entry_point",
        max_episode_steps=10,
    )
    vec.reset(seed=0)
    for t in range(10):
        _, _, terminations, truncations, _ = vec.step(np.zeros((4, 1), np.float32))
        assert not terminations.any()
        assert truncations.all() == (t == 9)
    with pytest.raises(ValueError, match="expected \\(4, 1\\)"):
        vec.step(np.zeros((3, 1), np.float32))


def test_unknown_ids_and_bad_render_modes_are_clear_errors():
    with pytest.raises(ValueError, match="Unknown env id"):
        gymnasium_interop.GymnasiumEnv("CartPol-v1")
    with pytest.raises(ValueError, match="rgb_array"):
        gymnasium_interop.GymnasiumEnv("CartPole-v1", render_mode="human")


@pytest.mark.parametrize("gym_id", ["jaxrl/CartPole-v1", "jaxrl/GridWorld-CliffWalking-v0"])
def test_rgb_array_rendering_uses_the_envs_renderer(gym_id):
    env = gym.make(gym_id, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.min() < frame.max()
    vec = gym.make_vec(
        gym_id, num_envs=2, vectorization_mode="vector_entry_point", render_mode="rgb_array"
    )
    vec.reset(seed=0)
    assert vec.render().shape == frame.shape


def test_vector_env_rejects_observations_it_cannot_pack(monkeypatch):
    real = gymnasium_interop.to_gymnasium_space

    def as_float64(space):
        converted = real(space)
        if isinstance(converted, gym.spaces.Box):
            return gym.spaces.Box(converted.low, converted.high, dtype=np.float64)
        return converted

    monkeypatch.setattr(gymnasium_interop, "to_gymnasium_space", as_float64)
    with pytest.raises(ValueError, match="float64 observations; the vector adapter packs 32-bit"):
        gymnasium_interop.GymnasiumVectorEnv("CartPole-v1", num_envs=2)
