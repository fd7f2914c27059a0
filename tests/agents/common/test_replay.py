"""The on-device replay buffer: its ring's invariants, and n-step returns against a NumPy
reference on hand-made episodes with terminations and truncations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.agents.common.replay import (
    can_sample,
    n_step_transitions,
    replay_add,
    replay_init,
    sample_positions,
)

NUM_ENVS = 2


def _steps(start: int, num_steps: int) -> dict:
    """`num_steps` steps of 2 envs whose fields encode their time index `start + t`."""
    t = np.arange(start, start + num_steps, dtype=np.float32)[:, None] * np.ones((1, NUM_ENVS))
    env = np.arange(NUM_ENVS, dtype=np.float32)[None, :] * 1000
    return {
        "obs": jnp.asarray((t + env)[..., None] * np.ones(3, np.float32)),
        "action": jnp.asarray(t + env, jnp.int32),
        "reward": jnp.asarray(t + env),
        "terminated": jnp.zeros((num_steps, NUM_ENVS), bool),
        "truncated": jnp.zeros((num_steps, NUM_ENVS), bool),
        "final_obs": jnp.asarray((t + env + 0.5)[..., None] * np.ones(3, np.float32)),
    }


def _one(steps):
    return jax.tree.map(lambda leaf: leaf[0], steps)


def test_capacity_is_exact_and_the_ring_wraps_round_in_order():
    replay = replay_init(_one(_steps(0, 1)), capacity=5)
    assert replay.capacity == 5 and replay.num_envs == NUM_ENVS
    replay = replay_add(replay, _steps(0, 3))
    assert (int(replay.position), int(replay.filled)) == (3, 3)
    replay = replay_add(replay, _steps(3, 4))  # 7 steps in 5 rows: steps 2..6 remain
    assert (int(replay.position), int(replay.filled)) == (2, 5)
    np.testing.assert_array_equal(replay.data["action"][:, 0], [5, 6, 2, 3, 4])
    with pytest.raises(ValueError, match="do not fit"):
        replay_add(replay, _steps(0, 6))
    with pytest.raises(ValueError, match="positive number of rows"):
        replay_init(_one(_steps(0, 1)), capacity=0)


def test_samples_are_stored_steps_with_their_next_steps_stored_too():
    replay = replay_init(_one(_steps(0, 1)), capacity=8)
    replay = replay_add(replay_add(replay, _steps(0, 6)), _steps(6, 5))  # steps 3..10 remain
    uniforms = jax.random.uniform(jax.random.key(0), (4000, 2))
    rows, envs = jax.jit(lambda u: sample_positions(replay, u, horizon=3))(uniforms)
    times = np.asarray(replay.data["action"])[np.asarray(rows), 0]
    # Horizon 3: steps 3..8 (steps 9 and 10 lack two successors); every one is drawn.
    assert set(times.tolist()) == set(range(3, 9))
    assert set(np.asarray(envs).tolist()) == {0, 1}
    counts = np.bincount(times - 3, minlength=6)
    assert counts.min() > 4000 / 6 * 0.8  # uniform
    assert not bool(can_sample(replay_init(_one(_steps(0, 1)), capacity=8), horizon=1))
    assert bool(can_sample(replay, horizon=8)) and not bool(can_sample(replay, horizon=9))


def test_other_keys_draw_other_samples():
    replay = replay_add(replay_init(_one(_steps(0, 1)), capacity=64), _steps(0, 64))
    draw = jax.jit(lambda key: sample_positions(replay, jax.random.uniform(key, (32, 2)))[0])
    assert not np.array_equal(draw(jax.random.key(0)), draw(jax.random.key(1)))
    np.testing.assert_array_equal(draw(jax.random.key(2)), draw(jax.random.key(2)))


def _reference(rewards, terminated, truncated, final_obs, start, n, gamma):
    """n-step return, bootstrap observation and discount, by the definition, in NumPy."""
    total, k = 0.0, 0
    while True:
        total += gamma**k * rewards[start + k]
        if terminated[start + k]:
            return total, final_obs[start + k], 0.0
        if truncated[start + k] or k + 1 == n:
            return total, final_obs[start + k], gamma ** (k + 1)
        k += 1


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_n_step_returns_stop_at_terminations_and_bootstrap_truncations(n):
    rng = np.random.default_rng(n)
    num_steps, gamma = 12, 0.9
    steps = _steps(0, num_steps)
    rewards = rng.normal(size=(num_steps, NUM_ENVS)).astype(np.float32)
    terminated = np.zeros((num_steps, NUM_ENVS), bool)
    truncated = np.zeros((num_steps, NUM_ENVS), bool)
    terminated[[2, 7], 0] = True  # env 0: two episodes end by termination
    truncated[4, 0] = True  # ... one by the time limit
    truncated[5, 1] = terminated[9, 1] = True  # env 1: both kinds too
    steps.update(
        reward=jnp.asarray(rewards),
        terminated=jnp.asarray(terminated),
        truncated=jnp.asarray(truncated),
    )
    replay = replay_add(replay_init(_one(steps), capacity=num_steps), steps)
    rows = np.repeat(np.arange(num_steps - n + 1), NUM_ENVS).astype(np.int32)
    envs = np.tile(np.arange(NUM_ENVS), num_steps - n + 1).astype(np.int32)
    batch = jax.jit(lambda r, e: n_step_transitions(replay, r, e, n=n, gamma=gamma))(rows, envs)
    final_obs = np.asarray(steps["final_obs"])
    for i, (row, env) in enumerate(zip(rows, envs, strict=True)):
        ret, next_obs, discount = _reference(
            rewards[:, env], terminated[:, env], truncated[:, env], final_obs[:, env], row, n, gamma
        )
        np.testing.assert_allclose(batch.returns[i], ret, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(batch.next_obs[i], next_obs)
        np.testing.assert_allclose(batch.discount[i], discount, rtol=1e-6)
        np.testing.assert_array_equal(batch.obs[i], np.asarray(steps["obs"])[row, env])
        assert int(batch.action[i]) == int(steps["action"][row, env])


def test_n_step_windows_read_across_the_rings_end():
    replay = replay_init(_one(_steps(0, 1)), capacity=4)
    replay = replay_add(replay_add(replay, _steps(0, 3)), _steps(3, 3))  # rows: steps 4, 5, 2, 3
    rows, envs = jnp.asarray([3], jnp.int32), jnp.asarray([1], jnp.int32)  # step 3, env 1
    batch = n_step_transitions(replay, rows, envs, n=3, gamma=0.5)
    # Steps 3, 4, 5 of env 1: rewards 1003, 1004, 1005.
    np.testing.assert_allclose(batch.returns[0], 1003 + 0.5 * 1004 + 0.25 * 1005)
    np.testing.assert_array_equal(batch.next_obs[0], np.full(3, 1005.5, np.float32))
    np.testing.assert_allclose(batch.discount[0], 0.125)


def test_why_not_a_flat_buffer_of_consecutive_steps():
    """What a flat buffer that pairs each stored step with the next one (flashbax's flat
    buffer: `experience.first`, `experience.second`) gives at an auto-reset, against ours.

    Env 0 is truncated at step 1 and terminated at step 3. The next stored observation after
    either is the new episode's first, so the pair bootstraps from the wrong state; its one
    `done` flag cannot say whether to bootstrap at all. This buffer keeps `final_obs` and both
    flags: the truncated step bootstraps from the observation it produced, the terminated one
    from nothing."""
    steps = _steps(0, 5)
    steps["truncated"] = steps["truncated"].at[1, 0].set(True)
    steps["terminated"] = steps["terminated"].at[3, 0].set(True)
    replay = replay_add(replay_init(_one(steps), capacity=5), steps)
    rows, envs = jnp.asarray([1, 3], jnp.int32), jnp.asarray([0, 0], jnp.int32)
    batch = n_step_transitions(replay, rows, envs, n=1, gamma=0.9)

    obs = np.asarray(steps["obs"])[:, 0]
    flat_next_obs = obs[[2, 4]]  # the pair's `second`: the reset observations
    ours = np.asarray(batch.next_obs)
    np.testing.assert_array_equal(ours[0], np.asarray(steps["final_obs"])[1, 0])
    assert not np.array_equal(ours[0], flat_next_obs[0])
    np.testing.assert_allclose(np.asarray(batch.discount), [0.9, 0.0])
