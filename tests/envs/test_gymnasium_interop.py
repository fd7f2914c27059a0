"""The Gymnasium adapters: the Gym loop verbatim on every env, check_env, the vector env's
autoreset modes (step by step against Gymnasium's SyncVectorEnv and the native batch step),
Gymnasium's vector wrappers on it, and that `import jaxrl` never imports Gymnasium."""

import functools
import subprocess
import sys

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402
from gymnasium.vector import AutoresetMode  # noqa: E402

import jaxrl.envs.gymnasium_interop as gymnasium_interop  # noqa: E402
from jaxrl import envs  # noqa: E402
from jaxrl.envs.games.core import TwoPlayerGame  # noqa: E402

#: Every registered env but the two-player games, which the PettingZoo adapter wraps instead.
GYM_IDS = [
    f"jaxrl/{env_id}"
    for env_id in envs.registered()
    if not isinstance(envs.make(env_id)[0], TwoPlayerGame)
]
NEXT_STEP, SAME_STEP, DISABLED = (
    AutoresetMode.NEXT_STEP,
    AutoresetMode.SAME_STEP,
    AutoresetMode.DISABLED,
)


def make_vec(gym_id, num_envs, **kwargs):
    return gym.make_vec(gym_id, num_envs, vectorization_mode="vector_entry_point", **kwargs)


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


def test_vector_env_defaults_to_next_step_autoreset_and_batches_spaces():
    vec = make_vec("jaxrl/Acrobot-v1", 8)
    assert isinstance(vec.unwrapped, gymnasium_interop.GymnasiumVectorEnv)
    assert vec.metadata["autoreset_mode"] is NEXT_STEP  # as Gymnasium's own vector envs
    assert vec.observation_space.shape == (8, 6)
    assert vec.single_action_space == gym.spaces.Discrete(3)
    obs, _ = vec.reset(seed=0)
    assert obs.shape == (8, 6) and obs.dtype == np.float32


@pytest.mark.parametrize("mode", [*AutoresetMode, *(mode.value for mode in AutoresetMode)])
def test_autoreset_mode_is_taken_as_gymnasiums_vector_envs_take_it(mode):
    """Members and their string values, through `gym.make_vec` as through SyncVectorEnv's
    `vector_kwargs`; the mode is the instance's, in the metadata Gymnasium's wrappers read."""
    expected = AutoresetMode(mode)
    vec = make_vec("jaxrl/CartPole-v1", 2, autoreset_mode=mode)
    assert vec.metadata["autoreset_mode"] is expected
    assert vec.unwrapped.autoreset_mode is expected
    sync = gym.make_vec(
        "jaxrl/CartPole-v1", 2, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}
    )
    assert sync.metadata["autoreset_mode"] is expected
    default = gymnasium_interop.GymnasiumVectorEnv("CartPole-v1", num_envs=2)
    assert default.metadata["autoreset_mode"] is NEXT_STEP


@pytest.mark.parametrize("mode", ["next_step", "NEXT_STEP", 1, None])
def test_a_bad_autoreset_mode_is_a_one_line_error_naming_the_modes(mode):
    with pytest.raises(ValueError) as error:
        make_vec("jaxrl/CartPole-v1", 2, autoreset_mode=mode)
    message = str(error.value)
    assert "\n" not in message and f"autoreset_mode={mode!r}" in message
    for valid in AutoresetMode:
        assert f"AutoresetMode.{valid.name}" in message and repr(valid.value) in message


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_vector_env_steps_as_gymnasiums_sync_vector_env(mode):
    """Step by step what Gymnasium's SyncVectorEnv of single envs returns in the same mode,
    masked resets included, on an env whose resets are deterministic (so both draw the same):
    episodes that terminate (the goal) and that truncate (the time limit), in every mode."""
    gym_id, num_envs, limit = "jaxrl/GridWorld-OpenRoom-v0", 4, 11
    ours = make_vec(gym_id, num_envs, max_episode_steps=limit, autoreset_mode=mode)
    theirs = gym.vector.SyncVectorEnv(
        [lambda: gym.make(gym_id, max_episode_steps=limit)] * num_envs, autoreset_mode=mode
    )
    np.testing.assert_array_equal(ours.reset(seed=0)[0], theirs.reset(seed=0)[0])
    rng = np.random.default_rng(0)
    ended = np.zeros(num_envs, bool)
    counts = {"terminated": 0, "truncated": 0, "masked resets": 0, "ended envs left": 0}
    for t in range(150):
        masks = []
        if mode is DISABLED and ended.any():
            with pytest.raises(RuntimeError, match="DISABLED: reset them first"):
                ours.step(np.zeros(num_envs, np.int64))
            # The ended envs in two resets (the first leaves some), running ones too at times.
            first = ended & (rng.random(num_envs) < 0.5)
            masks = [first, (ended & ~first) | ((rng.random(num_envs) < 0.3) & (t % 2 == 1))]
        elif ended.any() and t % 3 == 0 or t % 9 == 8:
            masks = [rng.random(num_envs) < 0.5]
        for mask in masks:
            if not mask.any():
                continue
            obs, _ = ours.reset(options={"reset_mask": mask})
            np.testing.assert_array_equal(obs, theirs.reset(options={"reset_mask": mask})[0])
            counts["masked resets"] += 1
            counts["ended envs left"] += (ended & ~mask).any()
            ended &= ~mask
        # Mostly right and down, towards the goal 8 moves away: episodes end both ways.
        toward_goal = rng.choice([1, 2], num_envs)
        actions = np.where(rng.random(num_envs) < 0.85, toward_goal, rng.integers(0, 4, num_envs))
        obs, rewards, terminated, truncated, infos = ours.step(actions)
        their_obs, their_rewards, their_terminated, their_truncated, their_infos = theirs.step(
            actions
        )
        np.testing.assert_array_equal(obs, their_obs)
        np.testing.assert_array_equal(rewards, their_rewards)
        np.testing.assert_array_equal(terminated, their_terminated)
        np.testing.assert_array_equal(truncated, their_truncated)
        if mode is SAME_STEP and "final_obs" in their_infos:
            np.testing.assert_array_equal(infos["_final_obs"], their_infos["_final_obs"])
            mask = infos["_final_obs"]
            final_obs = np.stack(their_infos["final_obs"][mask])
            np.testing.assert_array_equal(infos["final_obs"][mask], final_obs)
        else:
            assert "final_obs" not in infos and "final_obs" not in their_infos
        ended = terminated | truncated
        counts["terminated"] += terminated.sum()
        counts["truncated"] += truncated.sum()
    assert min(counts.values()) >= 3, counts


def test_vector_env_same_step_autoreset_puts_final_obs_in_infos():
    vec = make_vec("jaxrl/CartPole-v1", 16, autoreset_mode=SAME_STEP)
    assert vec.metadata["autoreset_mode"] is SAME_STEP
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


def test_vector_env_next_step_autoreset_shows_the_end_then_the_next_episode():
    vec = make_vec("jaxrl/CartPole-v1", 16)
    vec.reset(seed=1)
    autoreset = np.zeros(16, bool)
    autoresets = 0
    for _ in range(60):
        obs, rewards, terminations, truncations, infos = vec.step(np.ones(16, np.int64))
        assert infos == {}
        ended = terminations | truncations
        # The step an episode ends shows its last observation (the pole past its threshold,
        # pushed right all along); the next one ignores the action and shows a fresh
        # episode's first, inside [-0.05, 0.05], with reward 0 and both flags False.
        assert np.all((np.abs(obs[ended, 2]) > 0.2 - 1e-3) | (np.abs(obs[ended, 0]) > 2.4))
        assert np.all(np.abs(obs[autoreset]) <= 0.05) and not ended[autoreset].any()
        np.testing.assert_array_equal(rewards, np.where(autoreset, 0.0, 1.0))
        autoresets += autoreset.sum()
        autoreset = ended
    assert autoresets >= 16


def test_disabled_autoreset_leaves_resets_to_the_caller():
    """Ended envs wait for `reset(options={"reset_mask": mask})`; a mask may also restart
    running envs; stepping an ended env is an error, as in Gymnasium's vector envs."""
    vec = make_vec("jaxrl/CartPole-v1", 8, autoreset_mode="Disabled")
    vec.reset(seed=2)
    ended_steps = 0
    for t in range(80):
        obs, rewards, terminations, truncations, infos = vec.step(np.ones(8, np.int64))
        assert infos == {} and np.all(rewards == 1.0)
        ended = terminations | truncations
        if t == 3:  # a running env restarted by hand
            assert not ended.any()
            mask = np.arange(8) == 5
            first, _ = vec.reset(options={"reset_mask": mask})
            assert np.all(np.abs(first[5]) <= 0.05) and not np.allclose(first[5], obs[5])
            np.testing.assert_array_equal(first[~mask], obs[~mask])
        if not ended.any():
            continue
        ended_steps += 1
        assert np.all((np.abs(obs[ended, 2]) > 0.2 - 1e-3) | (np.abs(obs[ended, 0]) > 2.4))
        with pytest.raises(RuntimeError, match="reset_mask"):
            vec.step(np.ones(8, np.int64))
        first, _ = vec.reset(options={"reset_mask": ended})
        assert np.all(np.abs(first[ended]) <= 0.05)
        np.testing.assert_array_equal(first[~ended], obs[~ended])
    assert ended_steps >= 3


def test_reset_mask_is_checked_as_gymnasium_checks_it():
    vec = make_vec("jaxrl/CartPole-v1", 4)
    with pytest.raises(RuntimeError, match="without a reset_mask"):
        vec.reset(options={"reset_mask": np.ones(4, bool)})
    vec.reset(seed=0)
    for bad in (np.ones(3, bool), np.ones(4, np.int64), np.ones((4, 1), bool)):
        with pytest.raises(ValueError, match="give a bool array of shape \\(4,\\)"):
            vec.reset(options={"reset_mask": bad})
    with pytest.raises(ValueError, match="selects no env"):
        vec.reset(options={"reset_mask": np.zeros(4, bool)})
    # A seed with a mask restarts the key stream: the masked envs' next episodes repeat.
    mask = np.array([True, False, True, False])
    before = vec.step(np.ones(4, np.int64))[0]
    first, _ = vec.reset(seed=7, options={"reset_mask": mask})
    np.testing.assert_array_equal(first[~mask], before[~mask])
    vec.step(np.ones(4, np.int64))
    again, _ = vec.reset(seed=7, options={"reset_mask": mask})
    np.testing.assert_array_equal(again[mask], first[mask])


def test_gymnasiums_episode_statistics_wrapper_counts_the_adapters_episodes():
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    vec = RecordEpisodeStatistics(make_vec("jaxrl/CartPole-v1", 8))
    vec.reset(seed=0)
    vec.action_space.seed(0)
    returns, lengths = np.zeros(8), np.zeros(8, np.int64)
    autoreset = np.zeros(8, bool)
    episodes = 0
    for _ in range(300):
        _, rewards, terminations, truncations, infos = vec.step(vec.action_space.sample())
        # NEXT_STEP: the step after an episode ends starts the next, reward 0 and flags False.
        assert np.all(rewards[autoreset] == 0.0) and np.all(rewards[~autoreset] == 1.0)
        returns = np.where(autoreset, 0.0, returns + rewards)
        lengths = np.where(autoreset, 0, lengths + 1)
        ended = terminations | truncations
        assert not ended[autoreset].any()
        if ended.any():
            np.testing.assert_array_equal(infos["_episode"], ended)
            # CartPole pays 1 a step: each episode's return is its length.
            np.testing.assert_array_equal(infos["episode"]["r"][ended], lengths[ended])
            np.testing.assert_array_equal(infos["episode"]["r"][ended], returns[ended])
            np.testing.assert_array_equal(infos["episode"]["l"][ended], lengths[ended])
            episodes += ended.sum()
        autoreset = ended
    assert vec.episode_count == episodes >= 40


def test_gymnasiums_normalizing_wrappers_run_on_the_adapter():
    """NormalizeObservation (which refuses a SAME_STEP env) and NormalizeReward, stacked, give
    what they compute from the observations and rewards a twin adapter returns."""
    from gymnasium.wrappers.vector import NormalizeObservation, NormalizeReward

    raw = make_vec("jaxrl/CartPole-v1", 8)
    normalize_obs = NormalizeObservation(make_vec("jaxrl/CartPole-v1", 8))
    vec = NormalizeReward(normalize_obs, gamma=0.99)
    seen = [raw.reset(seed=0)[0]]
    vec.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(300):
        actions = rng.integers(0, 2, 8)
        raw_obs, raw_rewards, raw_terminated, raw_truncated, _ = raw.step(actions)
        obs, rewards, terminated, truncated, _ = vec.step(actions)
        seen.append(raw_obs)
        np.testing.assert_array_equal(terminated, raw_terminated)
        np.testing.assert_array_equal(truncated, raw_truncated)
        scale = np.sqrt(vec.return_rms.var + vec.epsilon)
        np.testing.assert_allclose(rewards, raw_rewards / scale, rtol=1e-6)
    seen = np.concatenate(seen)
    rms = normalize_obs.obs_rms
    np.testing.assert_allclose(rms.mean, seen.mean(axis=0), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(rms.var, seen.var(axis=0), rtol=1e-3)
    expected = (raw_obs - rms.mean) / np.sqrt(rms.var + normalize_obs.epsilon)
    np.testing.assert_allclose(obs, expected, rtol=1e-5, atol=1e-6)
    assert vec.return_rms.count > 1000  # every step but the autoreset ones


@pytest.mark.parametrize(
    "env_id, num_envs, max_steps, carry_packed, mode",
    [
        ("CartPole-v1", 2048, 3, True, NEXT_STEP),
        ("MountainCar-v0", 5, None, True, NEXT_STEP),
        ("Pendulum-v1", 1030, 4, True, NEXT_STEP),
        ("CartPole-v1", 1030, 3, False, NEXT_STEP),
        ("GridWorld-OpenRoom-v0", 7, None, False, NEXT_STEP),
        ("CartPole-v1", 2048, 3, True, SAME_STEP),
        ("GridWorld-OpenRoom-v0", 7, None, False, SAME_STEP),
        ("CartPole-v1", 2048, 3, True, DISABLED),
        ("GridWorld-OpenRoom-v0", 7, None, False, DISABLED),
    ],
)
def test_vector_env_returns_what_step_batch_computes(
    env_id, num_envs, max_steps, carry_packed, mode, monkeypatch
):
    """Bit for bit the native batch step from the same key and state, through the packed
    array, with Gymnasium's rule for the mode applied on the host: large batches (fused reset
    pools, overflowing when every env truncates at once) and small ones, with the carry packed
    in the result or kept apart (as for many envs)."""
    import jax

    if not carry_packed:
        monkeypatch.setattr(gymnasium_interop, "PACKED_CARRY_MAX_ENVS", num_envs - 1)
    vec = gymnasium_interop.GymnasiumVectorEnv(
        env_id, num_envs=num_envs, max_episode_steps=max_steps, autoreset_mode=mode
    )
    assert vec._carry_packed == carry_packed
    first_obs, _ = vec.reset(seed=3)
    vec.action_space.seed(0)
    env, params = vec._env, vec._params
    native_step = jax.jit(lambda key, state, actions: env.step_batch(key, state, actions, params))
    key_data, state, _ = vec._carry_of(vec._device)
    autoreset = np.zeros(num_envs, bool)  # NEXT_STEP's envs that start again this step
    all_ended_at_once = False

    def held(mask, kept, stepped):
        return np.where(mask.reshape(mask.shape + (1,) * (kept.ndim - 1)), kept, stepped)

    for _ in range(8):
        actions = vec.action_space.sample()
        key, key_step = envs.numerics.split(jax.random.wrap_key_data(key_data), 2)
        native = native_step(key_step, state, actions.astype(vec._action_dtype))
        native_obs, next_state, native_reward, native_terminated, native_truncated, info = (
            jax.tree.map(np.asarray, native)
        )
        native_final_obs = info["final_observation"]
        key_data = jax.random.key_data(key)
        obs, reward, terminated, truncated, infos = vec.step(actions)
        if mode is NEXT_STEP:
            # An env that ended on the previous step keeps the state drawn then, and shows it.
            np.testing.assert_array_equal(obs, held(autoreset, first_obs, native_final_obs))
            np.testing.assert_array_equal(reward, np.where(autoreset, 0.0, native_reward))
            np.testing.assert_array_equal(terminated, native_terminated & ~autoreset)
            np.testing.assert_array_equal(truncated, native_truncated & ~autoreset)
            state = jax.tree.map(functools.partial(held, autoreset), state, next_state)
            first_obs = held(autoreset, first_obs, native_obs)
            assert infos == {}
        else:
            expected_obs = native_obs if mode is SAME_STEP else native_final_obs
            np.testing.assert_array_equal(obs, expected_obs)
            np.testing.assert_array_equal(reward, native_reward)
            np.testing.assert_array_equal(terminated, native_terminated)
            np.testing.assert_array_equal(truncated, native_truncated)
            state = next_state
        ended = terminated | truncated
        all_ended_at_once |= bool(ended.all())
        if mode is SAME_STEP and ended.any():
            np.testing.assert_array_equal(infos["final_obs"][ended], native_final_obs[ended])
        if mode is DISABLED and ended.any():
            # `step_batch` drew the ended envs' next episodes: the masked reset shows them.
            restarted, _ = vec.reset(options={"reset_mask": ended})
            np.testing.assert_array_equal(restarted, held(ended, native_obs, native_final_obs))
        for array in (obs, reward, terminated, truncated):
            assert array.flags.writeable  # callers may write in place
        autoreset = ended
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


@pytest.mark.parametrize("env_id", ["TicTacToe-v0", "ConnectFour-v0"])
def test_two_player_games_are_a_one_line_error_naming_the_pettingzoo_adapter(env_id):
    for adapter in (gymnasium_interop.GymnasiumEnv, gymnasium_interop.GymnasiumVectorEnv):
        with pytest.raises(ValueError, match="two-player game.*pettingzoo_interop") as error:
            adapter(env_id)
        assert len(str(error.value).splitlines()) == 1
    assert f"jaxrl/{env_id}" not in gymnasium_interop.register_gymnasium_envs()


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
