"""Tabular agents: the model against the env's own steps, value iteration on hand-worked layouts
and against the host-side optimal return, Q-learning converging to value iteration's Q, the
cliff walk's textbook Q-learning vs Sarsa result, and vmap == loop, same key => same result."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents import tabular
from jaxrl.agents.tabular.model import TabularModel, start_state
from jaxrl.agents.tabular.policies import greedy_action
from jaxrl.envs import gridworld
from jaxrl.envs.gridworld import DOWN, LEFT, RIGHT, UP, EnvParams, GridWorld

# S . .
# . # .
# . . G
WALLED_3X3 = ("S..", ".#.", "..G")


def _grid(rows, **overrides):
    params = EnvParams(layout=jnp.asarray(gridworld.parse_layout(rows)), **overrides)
    return GridWorld(params), params


@jax.jit
def _model(params):
    """The tabular model of any layout: one compiled program per grid shape."""
    return tabular.grid_model(GridWorld(params), params)


@jax.jit
def _solve(params, gamma):
    """Value iteration for any layout: one compiled program per grid shape."""
    return tabular.value_iteration(_model(params), gamma)


# One learner program on the cliff walk's 4x12 shape serves every learning test, unbatched and
# as a batch of runs that each have their own key, params and hyperparams (the algorithm is one
# of them). Every compile costs seconds on a CPU; one vmap axis compiles in half the time of
# three nested ones.
CLIFF_ENV, CLIFF_PARAMS = envs.make("GridWorld-CliffWalking-v0")
# Sutton & Barto's Example 6.6 setting: epsilon 0.1, alpha 0.5, 500 episodes, no discount.
CLIFF_CONFIG = tabular.TabularConfig(num_episodes=500, learning_rate=0.5, gamma=1.0, epsilon=0.1)


def _cliff_train(key, params, hyperparams):
    """A run on any layout of the cliff walk's shape: `make_train` accepts traced params."""
    return tabular.make_train(CLIFF_CONFIG, CLIFF_ENV, params)(key, hyperparams)


_cliff_single = jax.jit(_cliff_train)
_cliff_batch = jax.jit(jax.vmap(_cliff_train))


def _stack(trees):
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def test_value_iteration_on_a_1x3_corridor():
    # S . G with -1 a step and +10 for the goal, gamma 0.9. Worked by hand:
    #   V(1) = 10 (step into the goal), V(0) = -1 + 0.9 * 10 = 8.
    #   Q(0, right) = 8; Q(0, up/down/left) bump and stay: -1 + 0.9 * 8 = 6.2.
    #   Q(1, right) = 10; Q(1, up/down) bump: -1 + 0.9 * 10 = 8; Q(1, left) = -1 + 0.9 * 8 = 6.2.
    _, params = _grid(("S.G",), step_reward=-1.0, goal_reward=10.0)
    result = _solve(params, 0.9)
    np.testing.assert_allclose(result.values, [8.0, 10.0, 0.0], rtol=1e-6)
    expected_q = np.zeros((3, 4))
    expected_q[0, [UP, RIGHT, DOWN, LEFT]] = [6.2, 8.0, 6.2, 6.2]
    expected_q[1, [UP, RIGHT, DOWN, LEFT]] = [8.0, 10.0, 8.0, 6.2]
    np.testing.assert_allclose(result.q_values, expected_q, rtol=1e-6)
    assert result.policy[:2].tolist() == [RIGHT, RIGHT]
    assert float(result.residual) <= 1e-6


def test_value_iteration_with_slip_matches_the_closed_form():
    # S G ., slip 0.2: "right" reaches the goal with 0.8 + 0.2/4 = 0.85 and bumps (stays) with
    # 0.15, so V = 0.85 * 10 + 0.15 * (-1 + 0.9 V), V = 8.35 / 0.865. "left" reaches the goal
    # only by slipping right (0.05): Q(left) = 0.05 * 10 + 0.95 * (-1 + 0.9 V). (The cell past
    # the goal is never reached; it gives the corridor's 1x3 shape, so the program is shared.)
    _, params = _grid(("SG.",), step_reward=-1.0, goal_reward=10.0, slip=0.2)
    result = _solve(params, 0.9)
    value = 8.35 / 0.865
    np.testing.assert_allclose(result.values[0], value, rtol=1e-5)
    np.testing.assert_allclose(result.q_values[0, LEFT], 0.5 + 0.95 * (-1 + 0.9 * value), rtol=1e-5)
    assert int(result.policy[0]) == RIGHT


# The open room adds nothing the four rooms (walls, hallways) and the cliff walk do not test,
# and each grid shape is a program to compile.
@pytest.mark.parametrize("env_id", ["GridWorld-FourRooms-v0", "GridWorld-CliffWalking-v0"])
def test_undiscounted_value_iteration_finds_the_optimal_return(env_id):
    # gridworld.optimal_return is an independent finite-horizon DP in numpy on the host.
    _, params = envs.make(env_id)
    result = _solve(params, 1.0)
    assert float(result.values[start_state(params)]) == gridworld.optimal_return(params)


def test_the_model_matches_the_envs_sampled_steps():
    env, params = _grid(WALLED_3X3, step_reward=-1.0, goal_reward=5.0, slip=0.4)
    model = jax.device_get(_model(params))
    np.testing.assert_allclose(model.transitions.sum(-1), 1.0, rtol=1e-6)
    cells = np.flatnonzero(np.asarray(model.decision))
    samples = 2000
    pairs = [(cell, action) for cell in cells for action in range(4)]
    rows = np.repeat([cell // 3 for cell, _ in pairs], samples)
    cols = np.repeat([cell % 3 for cell, _ in pairs], samples)
    actions = np.repeat([action for _, action in pairs], samples)
    states = jax.vmap(lambda r, c: gridworld.EnvState(row=r, col=c))(rows, cols)
    states = states.replace(time=jnp.zeros_like(rows), episode_return=jnp.zeros(rows.shape))
    keys = jax.random.split(jax.random.key(1), rows.size)
    _, _, reward, _, _, info = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))(
        keys, states, actions, params
    )
    # The step's own cell, before the auto-reset that follows entering the goal.
    reached = np.argmax(np.asarray(info["final_observation"]), axis=-1).reshape(len(pairs), -1)
    reward = np.asarray(reward).reshape(len(pairs), -1)
    for i, (cell, action) in enumerate(pairs):
        frequency = np.bincount(reached[i], minlength=9) / samples
        # Binomial standard deviation <= 0.0112 at 2000 samples: 0.06 is over 5 of them.
        np.testing.assert_allclose(frequency, model.transitions[cell, action], atol=0.06)
        np.testing.assert_allclose(reward[i].mean(), model.rewards[cell, action], atol=0.35)


def test_terminal_cells_absorb_and_pay_nothing():
    _, params = _grid(WALLED_3X3, goal_reward=5.0)
    model = _model(params)
    goal = 8
    assert model.terminal.tolist() == [False] * 8 + [True]
    assert model.decision.tolist() == [True, True, True, True, False, True, True, True, False]
    np.testing.assert_array_equal(model.transitions[goal, :, goal], 1.0)
    np.testing.assert_array_equal(model.rewards[goal], 0.0)


def test_q_learning_converges_to_value_iterations_q():
    # Deterministic moves: a constant step size converges once every pair is tried often;
    # epsilon 0.5 explores enough while half the steps follow the greedy policy (off-policy).
    hyperparams = CLIFF_CONFIG.replace(epsilon=0.5, gamma=0.9).hyperparams
    optimum = _solve(CLIFF_PARAMS, 0.9)
    assert float(jnp.min(optimum.q_values)) < -100  # Q* spans [-100 - 0.9 * 10, 0]
    for seed in range(2):
        result = _cliff_single(jax.random.key(seed), CLIFF_PARAMS, hyperparams)
        np.testing.assert_allclose(result.q_values, optimum.q_values, atol=1e-2)


@pytest.fixture(scope="module")
def cliff_runs():
    """Each algorithm's online returns `[4 seeds, 500]` and greedy returns `[4]` in the textbook
    setting, and value iteration's greedy return."""
    keys = jax.random.split(jax.random.key(0), 4)
    evaluate = tabular.make_evaluate(CLIFF_CONFIG, CLIFF_ENV, CLIFF_PARAMS, num_episodes=1)
    greedy = jax.jit(lambda q: evaluate(q, keys[0])[0])
    runs = {}
    for algorithm in tabular.ALGORITHMS:
        hyperparams = CLIFF_CONFIG.replace(algorithm=algorithm).hyperparams
        results = [_cliff_single(key, CLIFF_PARAMS, hyperparams) for key in keys]
        runs[algorithm] = (
            np.stack([r.episode_returns for r in results]),
            np.array([float(greedy(r.q_values)) for r in results]),
        )
    runs["value_iteration"] = float(greedy(_solve(CLIFF_PARAMS, 1.0).q_values))
    return runs


def test_cliff_walk_value_iterations_policy_walks_the_edge_in_the_env(cliff_runs):
    assert cliff_runs["value_iteration"] == -13.0


def test_cliff_walk_q_learning_takes_the_edge(cliff_runs):
    # Sutton & Barto, Example 6.6: Q-learning learns the optimal path along the cliff (-13) ...
    online, greedy = cliff_runs["q_learning"]
    np.testing.assert_array_equal(greedy, -13.0)
    # ... and pays for it online: epsilon-greedy steps off the edge now and then.
    assert np.mean(online[:, 100:]) < -35


def test_cliff_walk_sarsa_prefers_the_safe_path(cliff_runs):
    q_returns, _ = cliff_runs["q_learning"]
    sarsa_returns, sarsa_greedy = cliff_runs["sarsa"]
    # Sarsa's greedy path stays at least a row away from the edge: 2 extra steps or more.
    assert np.all(sarsa_greedy <= -15.0)
    sarsa_online = np.mean(sarsa_returns[:, 100:], axis=1)
    q_online = np.mean(q_returns[:, 100:], axis=1)
    # The textbook figure: Sarsa's online returns are well above Q-learning's.
    assert np.mean(sarsa_online) > np.mean(q_online) + 10
    assert np.mean(sarsa_online) > -35


def test_vmap_over_layouts_seeds_and_algorithms_equals_the_loop():
    layouts = [CLIFF_PARAMS, CLIFF_PARAMS.replace(cliff_reward=-10.0, slip=0.1)]
    # Step size 0.5 and integer rewards make each update's rounding independent of how XLA
    # fuses it (0.5 * x is exact), so the batched and the looped programs agree to the bit over
    # 500 episodes. With a step of 0.3 they differ in the last bit, a greedy tie falls the
    # other way, and two correct runs part.
    configs = [CLIFF_CONFIG, CLIFF_CONFIG.replace(algorithm="sarsa", epsilon=0.2)]
    keys = jax.random.split(jax.random.key(3), 2)
    # Four runs that differ in layout, seed and algorithm, in one vmapped call.
    runs = [(0, 0, 0), (1, 1, 1), (0, 1, 1), (1, 0, 0)]  # (layout, seed, config)
    batched = _cliff_batch(
        jnp.stack([keys[s] for _, s, _ in runs]),
        _stack([layouts[lay] for lay, _, _ in runs]),
        _stack([configs[c].hyperparams for _, _, c in runs]),
    )
    for index, (layout, seed, config) in enumerate(runs):
        one = _cliff_single(keys[seed], layouts[layout], configs[config].hyperparams)
        np.testing.assert_array_equal(batched.q_values[index], one.q_values)
        np.testing.assert_array_equal(batched.episode_lengths[index], one.episode_lengths)
        np.testing.assert_array_equal(batched.episode_returns[index], one.episode_returns)
    # Same key, same result; another seed, other episodes. (Calls with the same argument
    # structure as above: `_cliff_single(key)` alone would be one more program to compile.)
    again = _cliff_single(keys[0], CLIFF_PARAMS, CLIFF_CONFIG.hyperparams)
    np.testing.assert_array_equal(again.q_values, batched.q_values[0])
    assert not np.array_equal(batched.episode_lengths[1], batched.episode_lengths[3])

    solved = jax.jit(jax.vmap(_solve, in_axes=(0, None)))(_stack(layouts), 0.9)
    for index, layout_params in enumerate(layouts):
        np.testing.assert_allclose(
            solved.values[index], _solve(layout_params, 0.9).values, rtol=1e-6
        )


def test_greedy_action_breaks_ties_uniformly():
    keys = jax.random.split(jax.random.key(0), 2000)
    actions = np.asarray(
        jax.jit(jax.vmap(greedy_action, in_axes=(0, None)))(keys, jnp.array([0.0, 1.0, 1.0, 0.0]))
    )
    assert set(actions.tolist()) == {1, 2}
    assert abs(np.mean(actions == 1) - 0.5) < 0.06  # 5 standard deviations


def test_policy_grid_draws_the_cliff_walk_optimum():
    _, params = envs.make("GridWorld-CliffWalking-v0")
    drawing = tabular.policy_grid(params.layout, _solve(params, 1.0).policy)
    assert drawing.splitlines()[2] == "> > > > > > > > > > > v"
    assert drawing.splitlines()[3] == "^ C C C C C C C C C C G"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"algorithm": "td3"}, "algorithm"),
        ({"num_episodes": 0}, "num_episodes"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"gamma": 1.5}, "gamma"),
        ({"epsilon": -0.1}, "epsilon"),
        ({"epsilon": float("nan")}, "epsilon"),
        ({"learning_rate": "0.5"}, "learning_rate"),
        ({"initial_q": float("inf")}, "initial_q"),
    ],
)
def test_bad_config_is_a_one_line_error(changes, message):
    with pytest.raises(ValueError, match=message):
        tabular.TabularConfig(**changes)


def test_bad_inputs_fail_before_compiling():
    env, params = envs.make("Pendulum-v1")
    with pytest.raises(ValueError, match="Discrete actions"):
        tabular.make_train(tabular.TabularConfig(), env, params)
    env, params = envs.make("CartPole-v1")
    with pytest.raises(ValueError, match="one-hot observation"):
        tabular.make_train(tabular.TabularConfig(), env, params)
    model = TabularModel(
        transitions=jnp.ones((1, 1, 1)),
        rewards=jnp.zeros((1, 1)),
        terminal=jnp.zeros(1, bool),
        decision=jnp.ones(1, bool),
    )
    with pytest.raises(ValueError, match="gamma"):
        tabular.value_iteration(model, 0.0)
    with pytest.raises(ValueError, match="max_iterations"):
        tabular.value_iteration(model, 0.9, max_iterations=0)
    with pytest.raises(ValueError, match="'num_episodes' cannot be swept"):
        tabular.hyperparams_grid(tabular.TabularConfig(), num_episodes=[9, 10])
    with pytest.raises(ValueError, match="use PPO"):
        tabular.default_config("CartPole-v1")
    with pytest.raises(ValueError, match="valid fields"):
        tabular.TabularConfig().replace(alpha=0.1)
