"""`make("gymnax:<id>")` against gymnax itself: transitions, key plumbing, time limit, spaces."""

import functools
import subprocess
import sys

import gymnax  # the test extra's: a broken install fails here rather than skipping
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces as gymnax_spaces
from gymnax.environments.classic_control import cartpole as gymnax_cartpole

from jaxrl import envs
from jaxrl.envs import gymnax_interop, spaces

# CartPole and Catch-bsuite as asked; UmbrellaChain-bsuite because its reward is a coin flip on
# step_env's key, so a key handed to gymnax wrongly shows up in the rewards.
PARITY_IDS = ["CartPole-v1", "Catch-bsuite", "UmbrellaChain-bsuite"]
# MNISTBandit-bsuite downloads MNIST when constructed.
ZOO_IDS = [i for i in gymnax.registered_envs if i != "MNISTBandit-bsuite"]

CARTPOLE, CARTPOLE_PARAMS = envs.make("gymnax:CartPole-v1")


def _assert_trees_equal(actual, expected, atol=1e-6):
    """Same structure; integer and bool leaves equal, float leaves within `atol`."""
    actual_leaves, actual_def = jax.tree.flatten(actual)
    expected_leaves, expected_def = jax.tree.flatten(expected)
    assert actual_def == expected_def
    for a, e in zip(actual_leaves, expected_leaves, strict=True):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape
        if np.issubdtype(e.dtype, np.floating):
            np.testing.assert_allclose(a, e, rtol=1e-6, atol=atol)
        else:
            np.testing.assert_array_equal(a, e)


def _cartpole_states(x, x_dot, time):
    """Wrapped CartPole states, pole upright, batched over the `[n]` arrays `x`, `x_dot`, `time`."""
    x, x_dot = jnp.asarray(x, jnp.float32), jnp.asarray(x_dot, jnp.float32)
    time = jnp.asarray(time, jnp.int32)
    gymnax_state = gymnax_cartpole.EnvState(
        x=x, x_dot=x_dot, theta=jnp.zeros_like(x), theta_dot=jnp.zeros_like(x), time=time
    )
    return gymnax_interop.GymnaxState(
        gymnax_state=gymnax_state, time=time, episode_return=jnp.zeros_like(x)
    )


# (x, x_dot, time) before a push to the right, then the expected (terminated, truncated).
# x = 2.4 moving right crosses x_threshold = 2.4 on the step.
TIME_LIMIT_CASES = [
    ((0.0, 0.0, 498), (False, False)),
    ((0.0, 0.0, 499), (False, True)),
    ((2.4, 1.0, 10), (True, False)),
    ((2.4, 1.0, 499), (True, True)),  # Gymnasium sets both flags when both happen.
]


@functools.partial(jax.jit, static_argnames=("env", "num_steps"))
def _rollout_beside_gymnax(env, params, key, num_steps):
    """Runs `env` for `num_steps` random actions. From each state it also takes gymnax's own
    `step` with the same key, and gymnax's `step_env` with the step half of that key.

    Returns:
        (reset, gymnax's reset, ours, gymnax's step, gymnax's step_env), stacked over steps.
    """
    reset = env.reset(key, params)
    gymnax_reset = env.gymnax_env.reset(key, params.gymnax_params)

    def one_step(state, key_t):
        action = env.action_space(params).sample(jax.random.fold_in(key_t, 1))
        ours = env.step(key_t, state, action, params)
        key_step, _ = jax.random.split(key_t)
        gymnax_state, gymnax_params = state.gymnax_state, params.gymnax_params
        step = env.gymnax_env.step(key_t, gymnax_state, action, gymnax_params)
        step_env = env.gymnax_env.step_env(key_step, gymnax_state, action, gymnax_params)
        return ours[1], (ours, step, step_env)

    keys = jax.random.split(jax.random.fold_in(key, 1), num_steps)
    _, stacked = jax.lax.scan(one_step, reset[1], keys)
    return reset, gymnax_reset, *stacked


def _assert_rollout_matches_gymnax(env, params, key, num_steps):
    """Checks every step of a rollout against gymnax; returns ours, stacked over steps."""
    (obs, state), gymnax_reset, ours, theirs, step_env = _rollout_beside_gymnax(
        env, params, key, num_steps
    )
    _assert_trees_equal((obs, state.gymnax_state), gymnax_reset)
    obs, state, reward, terminated, truncated, info = ours
    g_obs, g_state, g_reward, g_terminated, g_truncated, g_info = theirs
    _assert_trees_equal(obs, g_obs)
    _assert_trees_equal(state.gymnax_state, g_state)
    _assert_trees_equal(info["final_observation"], g_info["final_observation"])
    np.testing.assert_array_equal(reward, np.asarray(g_reward, np.float32))
    np.testing.assert_array_equal(terminated, g_terminated)
    np.testing.assert_array_equal(truncated, g_truncated)
    # What gymnax's step does first: step_env on the step half of the key.
    _assert_trees_equal(info["final_observation"], step_env[0])
    np.testing.assert_array_equal(reward, np.asarray(step_env[2], np.float32))
    np.testing.assert_array_equal(terminated, step_env[3])
    np.testing.assert_array_equal(state.time, state.gymnax_state.time)
    assert obs.dtype == jnp.float32 and reward.dtype == jnp.float32
    return ours


@pytest.mark.parametrize("env_id", PARITY_IDS)
def test_steps_equal_gymnax_step_along_a_trajectory(env_id):
    env, params = envs.make(f"gymnax:{env_id}")
    # gymnax's own `step` splits its key as the base does, step half then reset half, so the
    # two agree on every step, auto-resets included.
    _, _, reward, terminated, truncated, _ = _assert_rollout_matches_gymnax(
        env, params, jax.random.key(0), num_steps=64
    )
    assert np.sum(np.asarray(terminated | truncated)) >= 2, "the rollout should reset twice"
    if env_id == "UmbrellaChain-bsuite":
        # Mid-chain rewards are coin flips on the step key: a key lost on the way would show.
        mid_chain = ~np.asarray(terminated)
        assert 0.2 < np.mean(np.asarray(reward)[mid_chain] > 0) < 0.8


@functools.partial(jax.jit, static_argnames="env")
def _push_right(env, keys, states, params):
    """One push right from each of a batch of CartPole states, keys `[n]`.

    Returns:
        ours, gymnax's own `step`, and gymnax's `reset_env` on each key's reset half.
    """
    gymnax_params = params.gymnax_params
    ours = jax.vmap(env.step, in_axes=(0, 0, None, None))(keys, states, 1, params)
    theirs = jax.vmap(env.gymnax_env.step, in_axes=(0, 0, None, None))(
        keys, states.gymnax_state, 1, gymnax_params
    )
    reset_keys = jax.vmap(jax.random.split)(keys)[:, 1]
    resets = jax.vmap(env.gymnax_env.reset_env, in_axes=(0, None))(reset_keys, gymnax_params)
    return ours, theirs, resets


def _time_limit_states():
    x, x_dot, time = np.array([inputs for inputs, _ in TIME_LIMIT_CASES]).T
    keys = jax.random.split(jax.random.key(3), len(TIME_LIMIT_CASES))
    return keys, _cartpole_states(x, x_dot, time)


@pytest.fixture(scope="module")
def cartpole_cases():
    """TIME_LIMIT_CASES' states and `_push_right` from them."""
    keys, states = _time_limit_states()
    return states, *_push_right(CARTPOLE, keys, states, CARTPOLE_PARAMS)


def test_cartpole_time_limit_truncates_and_termination_stays_separate(cartpole_cases):
    assert CARTPOLE_PARAMS.max_steps == CARTPOLE_PARAMS.gymnax_params.max_steps_in_episode == 500
    states, ours, theirs, _ = cartpole_cases
    _, _, _, terminated, truncated, info = ours
    expected = np.array([flags for _, flags in TIME_LIMIT_CASES])
    np.testing.assert_array_equal(np.stack([terminated, truncated], -1), expected)
    np.testing.assert_array_equal(np.stack([theirs[3], theirs[4]], -1), expected)
    np.testing.assert_array_equal(info["episode_length"], np.asarray(states.time) + 1)


def test_auto_reset_draws_from_the_reset_half_and_keeps_the_final_observation(cartpole_cases):
    _, ours, _, (reset_obs, reset_state) = cartpole_cases
    obs, next_state, reward, terminated, truncated, info = ours
    done = np.asarray(terminated | truncated)
    _assert_trees_equal(np.asarray(obs)[done], np.asarray(reset_obs)[done])
    _assert_trees_equal(
        jax.tree.map(lambda leaf: leaf[done], next_state.gymnax_state),
        jax.tree.map(lambda leaf: leaf[done], reset_state),
    )
    np.testing.assert_array_equal(obs[~done], info["final_observation"][~done])
    # The pole that fell: its last observation is past x_threshold, not the fresh reset's.
    fell = np.asarray(terminated)
    assert np.all(np.asarray(info["final_observation"])[fell, 0] > 2.4)
    assert np.all(np.abs(np.asarray(obs)[done]) <= 0.05)
    np.testing.assert_array_equal(reward, 1.0)
    np.testing.assert_array_equal(info["episode_return"], 1.0)
    np.testing.assert_array_equal(np.asarray(next_state.time) == 0, done)
    np.testing.assert_array_equal(np.asarray(next_state.episode_return)[done], 0.0)


class _LegacyCartPole(gymnax_cartpole.CartPole):
    """gymnax<1 semantics: `step_env`'s flag is `terminated | time limit`."""

    def step_env(self, key, state, action, params):
        obs, state, reward, done, info = super().step_env(key, state, action, params)
        return obs, state, reward, done | (state.time >= params.max_steps_in_episode), info


def test_legacy_done_is_split_reporting_a_step_at_the_limit_as_truncated_only():
    env = gymnax_interop.GymnaxEnv(_LegacyCartPole(), "CartPole-v1", done_includes_time_limit=True)
    keys, states = _time_limit_states()
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, None, None)))
    _, _, _, terminated, truncated, _ = step(keys, states, 1, env.default_params)
    # As TIME_LIMIT_CASES but the last: terminated at the limit reads as truncated only.
    expected = [(False, False), (False, True), (True, False), (False, True)]
    np.testing.assert_array_equal(np.stack([terminated, truncated], -1), expected)


def test_max_steps_override_sets_the_time_limit_gymnax_sees():
    _, params = envs.make("gymnax:CartPole-v1", max_steps=10)
    assert params.max_steps == 10
    keys = jax.random.split(jax.random.key(3), 4)
    states = _cartpole_states(np.zeros(4), np.zeros(4), [8, 9, 10, 3])
    (*_, truncated, _), _, _ = _push_right(CARTPOLE, keys, states, params)
    np.testing.assert_array_equal(truncated, [False, True, True, False])
    # GaussianBandit's observation space shows the time limit to the agent.
    env, params = envs.make("gymnax:GaussianBandit-misc", max_steps=37)
    assert float(env.observation_space(params).high[-1]) == 37.0


def test_spaces_are_converted():
    assert CARTPOLE.action_space(CARTPOLE_PARAMS) == spaces.Discrete(2)
    box = CARTPOLE.observation_space(CARTPOLE_PARAMS)
    assert box.shape == (4,) and box.dtype == jnp.float32
    high = np.asarray(box.high)
    np.testing.assert_allclose(high[[0, 2]], [4.8, 48 * np.pi / 360], rtol=1e-6)
    # gymnax bounds the velocities at float32's max where Gymnasium has inf.
    assert high[1] == high[3] == np.finfo(np.float32).max

    env, params = envs.make("gymnax:Catch-bsuite")
    obs, _ = jax.jit(env.reset)(jax.random.key(0), params)
    space = env.observation_space(params)
    assert space.shape == obs.shape == (10, 5) and obs.dtype == space.dtype == jnp.float32
    assert float(obs.sum()) == 2.0  # the ball and the paddle
    assert (space.low, space.high) == (0, 1)
    assert env.action_space(params) == spaces.Discrete(3) and env.num_actions == 3

    env, params = envs.make("gymnax:Breakout-MinAtar")
    assert env.observation_space(params).shape == (10, 10, 4)

    env, params = envs.make("gymnax:FrozenLake-misc")
    assert env.observation_space(params) == spaces.Discrete(16)
    assert env.action_space(params) == spaces.Discrete(4)


def test_box_actions_are_clipped_into_the_box():
    # gymnax's Reacher does not clip: it scales whatever torque it is given.
    env, params = envs.make("gymnax:Reacher-misc")
    space = env.action_space(params)
    assert space.shape == (2,)
    np.testing.assert_array_equal([space.low, space.high], [[-1.0, -1.0], [1.0, 1.0]])

    @jax.jit
    def final_observations(actions):
        _, state = env.reset(jax.random.key(0), params)
        ours = jax.vmap(lambda a: env.step(jax.random.key(1), state, a, params)[5])(actions)
        unclipped = env.gymnax_env.step_env(
            jax.random.key(0), state.gymnax_state, actions[0], params.gymnax_params
        )[0]
        return ours["final_observation"], unclipped

    ours, unclipped = final_observations(jnp.array([[5.0, -5.0], [1.0, -1.0]]))
    np.testing.assert_array_equal(ours[0], ours[1])
    assert not np.allclose(ours[0], unclipped)


def test_unsupported_space_is_an_error_at_construction():
    class DictObservation(gymnax_cartpole.CartPole):
        def observation_space(self, params):
            return gymnax_spaces.Dict({"x": gymnax_spaces.Box(-1.0, 1.0, (), jnp.float32)})

    with pytest.raises(ValueError, match="observation space is a gymnax Dict"):
        gymnax_interop.GymnaxEnv(DictObservation(), "DictObservation")


@functools.partial(jax.jit, static_argnames=("num_envs", "num_steps"))
def _cartpole_batch_rollout(key, num_envs, num_steps):
    """step_batch for `num_steps`; beside it, gymnax's step_env from each state with the per-env
    keys step_batch derives (env i: the i-th split of the step half)."""
    _, state = CARTPOLE.reset_batch(key, num_envs, CARTPOLE_PARAMS)

    def one_step(state, key_t):
        action = jax.random.randint(jax.random.fold_in(key_t, 1), (num_envs,), 0, 2)
        batch = CARTPOLE.step_batch(key_t, state, action, CARTPOLE_PARAMS)
        key_step, _ = jax.random.split(key_t)
        step_keys = jax.random.split(key_step, num_envs)
        reference = jax.vmap(CARTPOLE.gymnax_env.step_env, in_axes=(0, 0, 0, None))(
            step_keys, state.gymnax_state, action, CARTPOLE_PARAMS.gymnax_params
        )
        return batch[1], (batch, reference)

    keys = jax.random.split(key, num_steps)
    return jax.lax.scan(one_step, state, keys)[1]


def test_vmap_jit_and_step_batch_match_gymnax():
    batch, reference = _cartpole_batch_rollout(jax.random.key(4), 16, 40)
    obs, next_state, reward, terminated, truncated, info = batch
    expected_obs, _, expected_reward, expected_terminated, _ = reference
    assert obs.shape == (40, 16, 4)
    _assert_trees_equal(info["final_observation"], expected_obs)
    np.testing.assert_array_equal(reward, expected_reward)
    np.testing.assert_array_equal(terminated, expected_terminated)
    done = np.asarray(terminated | truncated)
    np.testing.assert_array_equal(np.asarray(next_state.time) == 0, done)
    np.testing.assert_array_equal(np.asarray(next_state.gymnax_state.time) == 0, done)
    np.testing.assert_array_equal(np.asarray(obs)[~done], np.asarray(expected_obs)[~done])
    assert done.sum() >= 5, "some envs should reset inside step_batch"


def test_gymnax_params_are_traced_and_vmappable():
    gravities = jnp.array([0.0, 9.8, 20.0])

    @jax.jit
    def theta_dot_after_one_step(gravities):
        state = jax.tree.map(lambda leaf: leaf[0], _cartpole_states([0.0], [0.0], [0]))
        state = state.replace(gymnax_state=state.gymnax_state.replace(theta=jnp.float32(0.1)))

        def ours(g):
            params = CARTPOLE_PARAMS.replace(
                gymnax_params=CARTPOLE_PARAMS.gymnax_params.replace(gravity=g)
            )
            return CARTPOLE.step(jax.random.key(0), state, 1, params)[5]["final_observation"][3]

        def theirs(g):
            gymnax_params = CARTPOLE_PARAMS.gymnax_params.replace(gravity=g)
            return CARTPOLE.gymnax_env.step_env(
                jax.random.key(0), state.gymnax_state, 1, gymnax_params
            )[0][3]

        return jax.vmap(ours)(gravities), jax.vmap(theirs)(gravities)

    theta_dot, expected = theta_dot_after_one_step(gravities)
    np.testing.assert_allclose(theta_dot, expected, rtol=1e-6)
    assert theta_dot[0] < theta_dot[1] < theta_dot[2]


def test_runs_under_x64():
    with jax.enable_x64(True):
        env, params = envs.make("gymnax:CartPole-v1")
        *_, terminated, truncated, _ = _assert_rollout_matches_gymnax(
            env, params, jax.random.key(5), num_steps=64
        )
    assert np.any(np.asarray(terminated | truncated))


def test_unknown_id_names_close_matches_and_how_to_list_them():
    with pytest.raises(ValueError, match="'gymnax:CartPole-v1'") as error:
        envs.make("gymnax:CartPole-v2")
    message = str(error.value)
    assert "gymnax.registered_envs" in message and "\n" not in message
    with pytest.raises(ValueError, match="'gymnax:Breakout-MinAtar'"):
        envs.make("gymnax:breakout-minatar")


def test_missing_gymnax_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "gymnax", None)
    with pytest.raises(ImportError, match=r"pip install gymnax .*\[gymnax\]"):
        envs.make("gymnax:CartPole-v1")


def test_importing_jaxrl_envs_does_not_import_gymnax():
    code = (
        "import sys; from jaxrl import envs; from jaxrl.envs import gymnax_interop; "
        "envs.make('CartPole-v1'); assert 'gymnax' not in sys.modules, 'gymnax was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ZOO_IDS)
def test_every_gymnax_env_traces_with_its_converted_spaces(env_id):
    env, params = envs.make(f"gymnax:{env_id}")
    key = jax.random.key(0)
    obs, state = jax.eval_shape(env.reset, key, params)
    obs_space, action_space = env.observation_space(params), env.action_space(params)
    assert obs.shape == obs_space.shape and obs.dtype == obs_space.dtype
    action = jax.eval_shape(action_space.sample, key)
    obs, _, reward, terminated, truncated, info = jax.eval_shape(
        env.step, key, state, action, params
    )
    assert obs.shape == obs_space.shape and obs.dtype == obs_space.dtype
    assert reward.shape == terminated.shape == truncated.shape == ()
    assert info["final_observation"].shape == obs_space.shape


def test_make_overrides_reach_gymnax_params():
    env, params = envs.make("gymnax:CartPole-v1", gravity=9.0, max_steps=100)
    assert float(params.gymnax_params.gravity) == 9.0
    assert params.max_steps == 100
    with pytest.raises(ValueError, match="valid parameters: .*gravity"):
        envs.make("gymnax:CartPole-v1", gravitee=9.0)
