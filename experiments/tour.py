# %% [markdown]
# # A tour of jaxrl
#
# From the agent-environment loop to PPO, in one script that also opens as a notebook
# (percent format: Jupytext, VS Code and PyCharm read the `# %%` cells).
#
#     python experiments/tour.py              # the whole tour, a few minutes on a laptop CPU
#     python experiments/tour.py --quick      # every cell at toy sizes (the test suite runs it)
#
# 1. The loop through Gymnasium: a jaxrl env is a `gymnasium.Env`.
# 2. The same loop written natively: `jit`, `vmap` over 4096 envs, and what it buys.
# 3. The grid world: an episode as the table of (position, action, reward) a lecture shows.
# 4. Value iteration: the exact optimum from the layout's transition model.
# 5. Q-learning and Sarsa on the cliff walk: the textbook result, in one compiled program.
# 6. PPO on CartPole and MountainCar, with learning curves.
# 7. PPO against DQN on CartPole: on-policy and off-policy, side by side.
# 8. Emergence: self-play on Tic-tac-toe, measured against the exact solver.
# 9. Next: the RLHF chapter.
#
# Figures and `summary.json` go to `--out` (default `runs/tour-<time>/`).

# %%
from __future__ import annotations

import datetime
import io
import os
import sys
import time
from pathlib import Path

IN_NOTEBOOK = "ipykernel" in sys.modules
# Before JAX is first imported (importing jaxrl imports it): the tour runs on the CPU.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

from jaxrl.cli.parser import ArgumentParser  # noqa: E402


def parse_args(argv: list[str] | None = None):
    """The tour's options; bad input is one line on stderr and exit status 2."""
    parser = ArgumentParser(prog="tour.py", description="A tour of jaxrl, from the loop to PPO.")
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("JAXRL_TOUR_QUICK") == "1",
        help="every cell at toy sizes, in well under a minute (also JAXRL_TOUR_QUICK=1)",
    )
    parser.add_argument("--seeds", type=int, default=None, help="seeds per learner (default 4)")
    parser.add_argument("--out", type=Path, default=None, help="directory for figures and JSON")
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = 2 if args.quick else 4
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: run at least one seed.")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    args.out = args.out or Path("runs") / f"tour-{stamp}"
    return args


# Arguments first, so a mistyped one fails before anything compiles. A notebook kernel's
# command line is its own: there the defaults (and JAXRL_TOUR_QUICK) apply.
ARGS = parse_args([] if IN_NOTEBOOK else None)
QUICK, SEEDS, OUT = ARGS.quick, ARGS.seeds, ARGS.out

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxrl import envs  # noqa: E402
from jaxrl.agents import ppo, tabular  # noqa: E402
from jaxrl.agents.tabular.model import start_state  # noqa: E402
from jaxrl.agents.tabular.policies import state_index  # noqa: E402
from jaxrl.compilation import compile_program  # noqa: E402
from jaxrl.envs.episode_table import record_episode  # noqa: E402
from jaxrl.files import write_atomically, write_json  # noqa: E402

OUT.mkdir(parents=True, exist_ok=True)
SUMMARY: dict = {"quick": QUICK, "seeds": SEEDS, "jax_backend": jax.default_backend()}
print(f"jaxrl tour ({'quick' if QUICK else 'full'}), {SEEDS} seeds, outputs in {OUT}/")


def save_figure(figure, name: str) -> Path:
    """Writes a matplotlib Figure to OUT/name atomically; shows it too in a notebook."""
    path = OUT / name
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=110, bbox_inches="tight")
    write_atomically(path, png.getvalue())
    if IN_NOTEBOOK:
        from IPython.display import Image, display

        display(Image(filename=str(path)))
    return path


# %% [markdown]
# ## 1. The loop, through Gymnasium
#
# Every jaxrl env registers as `jaxrl/<id>` with Gymnasium, so the textbook loop runs verbatim:
# observe, act, receive a reward, until the episode terminates (the pole fell) or is truncated
# (the time limit). Each `env.step` is one jitted call and one transfer to the host.

# %%
GYM_STEPS = 300 if QUICK else 5000
try:
    import gymnasium as gym

    import jaxrl.envs.gymnasium_interop  # noqa: F401  (registers "jaxrl/<id>")
except ImportError as error:
    gym = None
    print(f"skipping the Gymnasium loop: Gymnasium does not import ({error}).")

if gym is not None:
    env = gym.make("jaxrl/CartPole-v1")
    observation, info = env.reset(seed=0)
    env.step(env.action_space.sample())  # compile reset and step before timing
    observation, info = env.reset(seed=0)
    returns, episode_return = [], 0.0
    start = time.perf_counter()
    for _ in range(GYM_STEPS):
        action = env.action_space.sample()  # a random policy
        observation, reward, terminated, truncated, info = env.step(action)
        episode_return += reward
        if terminated or truncated:
            returns.append(episode_return)
            observation, info = env.reset()
            episode_return = 0.0
    gym_steps_per_s = GYM_STEPS / (time.perf_counter() - start)
    env.close()
    print(
        f"Gymnasium loop, CartPole-v1, random actions: {len(returns)} episodes in {GYM_STEPS} "
        f"steps, mean return {np.mean(returns):.1f}, {gym_steps_per_s:,.0f} steps/s"
    )
    SUMMARY["gym_loop"] = {
        "steps": GYM_STEPS,
        "episodes": len(returns),
        "mean_return": float(np.mean(returns)),
        "steps_per_s": gym_steps_per_s,
    }

# %% [markdown]
# ## 2. The same loop, native: `jit` and `vmap` over 4096 envs
#
# The env is a pure function, so the loop itself compiles: `jax.vmap` steps a batch of envs,
# `jax.lax.scan` runs the steps, and the whole rollout is one program. Episodes auto-reset;
# `info["episode_return"]` reports the return of each episode as it ends.

# %%
NUM_ENVS, NATIVE_STEPS = (256, 64) if QUICK else (4096, 1000)
cartpole, cartpole_params = envs.make("CartPole-v1")


def random_rollout(key):
    """NUM_ENVS envs x NATIVE_STEPS random steps: (sum of finished returns, episodes)."""
    key_reset, key_run = jax.random.split(key)
    obs, states = jax.vmap(cartpole.reset, in_axes=(0, None))(
        jax.random.split(key_reset, NUM_ENVS), cartpole_params
    )

    def step(states, key):
        key_action, key_step = jax.random.split(key)
        actions = jax.random.randint(key_action, (NUM_ENVS,), 0, 2)
        _, states, _, terminated, truncated, info = jax.vmap(
            cartpole.step, in_axes=(0, 0, 0, None)
        )(jax.random.split(key_step, NUM_ENVS), states, actions, cartpole_params)
        done = terminated | truncated
        return states, (jnp.sum(jnp.where(done, info["episode_return"], 0.0)), jnp.sum(done))

    _, (return_sums, episodes) = jax.lax.scan(step, states, jax.random.split(key_run, NATIVE_STEPS))
    return jnp.sum(return_sums), jnp.sum(episodes)


rollout, rollout_times = compile_program(random_rollout, jax.random.key(0))
start = time.perf_counter()
return_sum, episodes = jax.block_until_ready(rollout(jax.random.key(1)))
native_s = time.perf_counter() - start
native_steps_per_s = NUM_ENVS * NATIVE_STEPS / native_s
print(
    f"native loop, {NUM_ENVS} CartPoles x {NATIVE_STEPS} steps: {int(episodes)} episodes, "
    f"mean return {float(return_sum) / max(int(episodes), 1):.1f}, "
    f"{native_steps_per_s:,.0f} steps/s (compiled once in "
    f"{rollout_times.trace_s + rollout_times.compile_s:.1f} s)"
)
SUMMARY["native_loop"] = {
    "num_envs": NUM_ENVS,
    "steps": NATIVE_STEPS,
    "episodes": int(episodes),
    "steps_per_s": native_steps_per_s,
    "compile_s": rollout_times.trace_s + rollout_times.compile_s,
}
if gym is not None:
    speedup = native_steps_per_s / gym_steps_per_s
    SUMMARY["native_speedup_over_gym_loop"] = speedup
    print(f"the native loop steps {speedup:,.0f}x faster than the Gymnasium loop on this machine")

# %% [markdown]
# ## 3. The grid world: the loop as data
#
# An episode is a table of (state, action, reward) rows. On the cliff walk (Sutton & Barto,
# Example 6.6) the agent starts at `Pos(3,0)` (row 3, column 0; row 0 on top), every step pays
# -1, stepping into the cliff along the bottom row pays -100 and sends it back to the start, and
# the goal at `Pos(3,11)` ends the episode. A random policy first:

# %%
cliff, cliff_params = envs.make("GridWorld-CliffWalking-v0")


def random_policy(key, obs):
    return cliff.action_space(cliff_params).sample(key)


table = record_episode(cliff, cliff_params, random_policy, jax.random.key(0))
print(table.format(max_rows=8))
SUMMARY["random_cliff_episode"] = {"steps": len(table.rows), "return": table.total_return}

# %% [markdown]
# ## 4. Value iteration: the exact optimum
#
# The layout is data, so its transition model `P[s, a, s']` and expected rewards `R[s, a]`
# are read off the env's own step function, and value iteration sweeps
# `V(s) = max_a R(s, a) + gamma * sum_s' P(s, a, s') V(s')` to the fixed point. Undiscounted,
# the value of the start is the best return: the 13-step path along the cliff's edge.

# %%
# Slip is a number in the params, so one vmapped call solves a batch of slippery cliffs (the
# first without slip).
SLIPS = [0.0, 0.05, 0.1, 0.2]
slippery_params = jax.tree.map(lambda leaf: jnp.stack([leaf] * len(SLIPS)), cliff_params).replace(
    slip=jnp.asarray(SLIPS, jnp.float32)
)
solved = jax.jit(
    jax.vmap(lambda params: tabular.value_iteration(tabular.grid_model(cliff, params), 1.0))
)(slippery_params)
optimum = jax.tree.map(lambda leaf: leaf[0], solved)
start_cell = int(start_state(cliff_params))
print(
    f"value iteration: V(start) = {float(optimum.values[start_cell]):g} after "
    f"{int(optimum.iterations)} sweeps; its greedy policy:"
)
print(tabular.policy_grid(cliff_params.layout, optimum.policy))


def optimal_policy(key, obs):
    return optimum.policy[state_index(obs)]


print(record_episode(cliff, cliff_params, optimal_policy, jax.random.key(0)).format(max_rows=6))

# When the agent's steps go astray, walking along the edge stops being worth it.
start_values = np.asarray(solved.values[:, start_cell]).tolist()
print(
    "V(start) with slip "
    + ", ".join(f"{s:g}: {v:.1f}" for s, v in zip(SLIPS, start_values, strict=True))
)
print(f"the optimal policy at slip {SLIPS[-1]:g}:")
print(tabular.policy_grid(cliff_params.layout, solved.policy[-1]))
SUMMARY["value_iteration"] = {
    "start_value": float(optimum.values[start_cell]),
    "sweeps": int(optimum.iterations),
    "slips": SLIPS,
    "start_values": start_values,
}

# %% [markdown]
# ## 5. Q-learning and Sarsa: learning from the loop's data
#
# Without the model, learn `Q(s, a)` from the rows themselves, acting epsilon-greedily
# (epsilon 0.1, step size 0.5, the textbook's setting). The two differ in one line, the target:
# Q-learning bootstraps from the best next action (`max_a Q(s', a)`), Sarsa from the action it
# will actually take. The algorithm is a traced hyperparameter, so both algorithms and every
# seed run in one compiled program.

# %%
EPISODES = 100 if QUICK else 500
config = tabular.default_config("GridWorld-CliffWalking-v0").replace(num_episodes=EPISODES)
algorithms, _ = tabular.hyperparams_grid(config, algorithm=list(tabular.ALGORITHMS))
# Every algorithm SEEDS times over, algorithm-major: one run per (algorithm, seed).
runs_hyperparams = jax.tree.map(lambda leaf: jnp.repeat(leaf, SEEDS), algorithms)
runs_keys = jnp.concatenate([jax.random.split(jax.random.key(0), SEEDS)] * len(tabular.ALGORITHMS))
train_td = tabular.make_train(config, cliff, cliff_params)
evaluate_greedy = tabular.make_evaluate(config, cliff, cliff_params, num_episodes=1)


def train_and_read_greedy(key, hyperparams):
    """One run, and the return of acting greedily on its final table."""
    result = train_td(key, hyperparams)
    return result, evaluate_greedy(result.q_values, key)[0]


compiled, times = compile_program(jax.vmap(train_and_read_greedy), runs_keys, runs_hyperparams)
start = time.perf_counter()
learned, greedy_returns = jax.block_until_ready(compiled(runs_keys, runs_hyperparams))
tabular_s = time.perf_counter() - start
greedy_returns = np.asarray(greedy_returns).reshape(len(tabular.ALGORITHMS), SEEDS)
online = np.asarray(learned.episode_returns).reshape(len(tabular.ALGORITHMS), SEEDS, EPISODES)
print(
    f"{len(tabular.ALGORITHMS)} algorithms x {SEEDS} seeds x {EPISODES} episodes: compiled in "
    f"{times.trace_s + times.compile_s:.1f} s, ran in {tabular_s:.2f} s "
    f"({int(np.sum(learned.episode_lengths)):,} env steps)"
)
SUMMARY["cliff_td"] = {}
late = EPISODES // 5  # leave out the first fifth: early episodes are random walks
for index, algorithm in enumerate(tabular.ALGORITHMS):
    online_mean = float(np.mean(online[index, :, late:]))
    greedy_text = " ".join(f"{r:g}" for r in greedy_returns[index])
    print(
        f"{algorithm:>10}: greedy return per seed {greedy_text}, online return "
        f"{online_mean:.1f} (mean of episodes {late + 1}-{EPISODES})"
    )
    SUMMARY["cliff_td"][algorithm] = {
        "greedy_returns": greedy_returns[index].tolist(),
        "online_mean_return": online_mean,
    }
for index, algorithm in enumerate(tabular.ALGORITHMS):
    print(f"{algorithm}'s greedy policy (seed 0):")
    print(tabular.policy_grid(cliff_params.layout, np.argmax(learned.q_values[index * SEEDS], -1)))
print(
    "Q-learning learns the edge path (-13), but its exploring steps fall off the edge.\n"
    "Sarsa learns the values of the policy it follows, exploration included, and keeps away.\n"
    "(Sarsa's greedy read-out is not what it learns: with a constant step size its table tracks\n"
    "the exploring policy, and the greedy path may even loop until the time limit, -200.)"
)

from matplotlib.figure import Figure  # noqa: E402

figure = Figure(figsize=(6, 3.5))
axes = figure.subplots()
window = 10
for index, algorithm in enumerate(tabular.ALGORITHMS):
    mean = online[index].mean(axis=0)
    smooth = np.convolve(mean, np.ones(window) / window, mode="valid")
    axes.plot(np.arange(window, EPISODES + 1), smooth, label=algorithm)
axes.axhline(-13, color="gray", linestyle=":", label="optimal (-13)")
axes.set(xlabel="episode", ylabel="return (epsilon-greedy)", ylim=(-110, 0))
axes.set_title(f"Cliff walk, mean of {SEEDS} seeds, {window}-episode average")
axes.legend(loc="lower right")
print(f"figure: {save_figure(figure, 'cliff_walk.png')}")

# %% [markdown]
# ## 6. PPO on CartPole and MountainCar
#
# Beyond tables: PPO learns a neural policy. `ppo.make_train` fuses rollout, GAE and minibatch
# updates into one pure `train(key)`; `jax.vmap` trains every seed in one program. The configs
# are the tuned defaults (`ppo.default_config`); MountainCar's reward is -1 a step until the car
# reaches the flag, so its returns rise from -200 only once exploration has found the flag.

# %%
# Quick mode trains CartPole only: each env is its own program, seconds to compile.
PPO_ENVS = ["CartPole-v1"] if QUICK else ["CartPole-v1", "MountainCar-v0"]
figure = Figure(figsize=(5 * len(PPO_ENVS), 3.5))
all_axes = np.atleast_1d(figure.subplots(1, len(PPO_ENVS)))
SUMMARY["ppo"] = {}
for axes, env_id in zip(all_axes, PPO_ENVS, strict=True):
    env, env_params = envs.make(env_id)
    config = ppo.default_config(env_id)
    if QUICK:
        config = config.replace(total_timesteps=2 * config.batch_size)
    train = ppo.make_train(config, env, env_params)
    evaluate = ppo.make_evaluate(config, env, env_params, num_episodes=10 if QUICK else 100)

    def train_and_evaluate(key, train=train, evaluate=evaluate):
        key_train, key_eval = jax.random.split(key)
        result = train(key_train)
        return result.metrics, evaluate(result.params, key_eval, result.obs_stats).mean()

    keys = jax.random.split(jax.random.key(0), SEEDS)
    # The options jaxrl picks for SEEDS runs on one device (the README's fast path).
    options = ppo.compile_options(config, runs_per_device=SEEDS)
    compiled, times = compile_program(jax.vmap(train_and_evaluate), keys, options=options)
    start = time.perf_counter()
    metrics, final_returns = jax.block_until_ready(compiled(keys))
    train_s = time.perf_counter() - start
    final_returns = np.asarray(final_returns)
    print(
        f"PPO {env_id}: {SEEDS} seeds x {config.num_updates * config.batch_size:,} steps, "
        f"compiled in {times.trace_s + times.compile_s:.1f} s, trained in {train_s:.1f} s; "
        "evaluation return per seed " + " ".join(f"{r:.1f}" for r in final_returns)
    )
    SUMMARY["ppo"][env_id] = {
        "env_steps_per_seed": config.num_updates * config.batch_size,
        "train_s": train_s,
        "compile_s": times.trace_s + times.compile_s,
        "evaluation_return_per_seed": final_returns.tolist(),
    }
    steps = np.asarray(metrics["env_steps"][0])
    for seed in range(SEEDS):
        # NaN marks updates in which no episode ended (a balanced pole lasts 500 steps).
        returns = np.asarray(metrics["episode_return"][seed])
        ended = np.isfinite(returns)
        axes.plot(steps[ended], returns[ended], alpha=0.7)
    axes.set(title=f"PPO on {env_id}, {SEEDS} seeds", xlabel="env steps", ylabel="episode return")
print(f"figure: {save_figure(figure, 'ppo_learning_curves.png')}")

# %% [markdown]
# ## 7. PPO against DQN on CartPole
#
# Two ways to learn the same task. PPO is on-policy: it learns from each rollout a few times and
# throws it away. DQN is off-policy: every step goes into a replay buffer on the device, and
# each update samples old and new steps alike to regress Q-values onto bootstrapped targets.
# Both share the rollout skeleton and fuse into one program per learner; their tuned defaults
# (`default_config`) trade samples for wall time differently, which the plot shows side by side.

# %%
from jaxrl.agents import dqn  # noqa: E402
from jaxrl.agents.common.policy import play_policy  # noqa: E402

env, env_params = envs.make("CartPole-v1")
figure = Figure(figsize=(6, 3.5))
axes = figure.subplots()
SUMMARY["ppo_vs_dqn"] = {}
for name, learner in (("PPO", ppo), ("DQN", dqn)):
    config = learner.default_config("CartPole-v1")
    if QUICK:
        config = config.replace(total_timesteps=2 * config.rollout_size)
    train = learner.make_train(config, env, env_params)
    policy = learner.make_policy(config, env, env_params)

    def train_and_score(key, train=train, policy=policy):
        key_train, key_eval = jax.random.split(key)
        result = train(key_train)
        params = policy.params(result.runner_state.learner)
        episodes = 10 if QUICK else 100
        score = play_policy(policy, params, env, env_params, episodes, key_eval).mean()
        return result.metrics, score

    keys = jax.random.split(jax.random.key(1), SEEDS)
    options = learner.compile_options(config, runs_per_device=SEEDS)
    compiled, times = compile_program(jax.vmap(train_and_score), keys, options=options)
    start = time.perf_counter()
    metrics, scores = jax.block_until_ready(compiled(keys))
    train_s = time.perf_counter() - start
    scores = np.asarray(scores)
    env_steps = config.num_updates * config.rollout_size
    print(
        f"{name}: {SEEDS} seeds x {env_steps:,} steps, compiled in "
        f"{times.trace_s + times.compile_s:.1f} s, trained in {train_s:.1f} s; greedy return "
        "per seed " + " ".join(f"{r:.0f}" for r in scores)
    )
    SUMMARY["ppo_vs_dqn"][name] = {
        "env_steps_per_seed": env_steps,
        "train_s": train_s,
        "compile_s": times.trace_s + times.compile_s,
        "evaluation_return_per_seed": scores.tolist(),
    }
    steps = np.asarray(metrics["env_steps"][0])
    # NaN marks updates in which no episode ended: average the seeds whose episodes did.
    returns = np.asarray(metrics["episode_return"])
    ended = np.isfinite(returns)
    counts = ended.sum(axis=0)
    mean = np.where(ended, returns, 0.0).sum(axis=0) / np.maximum(counts, 1)
    axes.plot(steps[counts > 0], mean[counts > 0], label=f"{name} (mean of {SEEDS} seeds)")
axes.axhline(475, color="gray", linestyle=":", label="solved (475)")
axes.set(xlabel="env steps", ylabel="training episode return", title="CartPole-v1")
axes.legend(loc="lower right")
print(f"figure: {save_figure(figure, 'ppo_vs_dqn.png')}")

# %% [markdown]
# ## 8. Emergence: self-play on Tic-tac-toe
#
# Nobody writes down how to play. A network plays Tic-tac-toe against a league of its own past
# selves (and a random player), from both seats, with PPO; the league lives on the device and
# the whole run is one compiled program. Measured against the exact solver, network alone and
# no search, it stops losing: perfect play emerges from self-play. Below, its win-or-draw rate
# over the run, then one game against the solver as the table of moves.

# %%
from jaxrl.agents import selfplay  # noqa: E402
from jaxrl.agents.selfplay import ladder  # noqa: E402
from jaxrl.agents.selfplay.networks import make_agent  # noqa: E402

game, game_params = envs.make("TicTacToe-v0")
config = selfplay.default_config("TicTacToe-v0")
if QUICK:
    config = config.replace(total_timesteps=4 * config.rollout_size)
CHUNKS = 2 if QUICK else 8
GAMES = 100 if QUICK else 1000
agent = make_agent(config, game)
init = jax.jit(selfplay.make_init(config, game))
run_chunk = jax.jit(
    selfplay.make_run_updates(config, game, num_updates=config.num_updates // CHUNKS)
)
rungs = {"random": ladder.random_player(game), "solver": ladder.solver_player(game)}


@jax.jit
def against_rungs(params, key):
    player = selfplay.make_player(config, game, params)
    return {name: ladder.play_games(game, player, rung, key, GAMES) for name, rung in rungs.items()}


start = time.perf_counter()
runner = init(jax.random.key(0))
curve = []
for chunk in range(CHUNKS):
    runner, _ = run_chunk(runner)
    matches = against_rungs(agent.unravel(runner.learner.params), jax.random.key(chunk))
    curve.append(
        {
            "seconds": time.perf_counter() - start,
            **{name: float(m.win_rate + m.draw_rate) for name, m in matches.items()},
        }
    )
final = curve[-1]
print(
    f"self-play Tic-tac-toe: {config.num_updates * config.rollout_size:,} moves in "
    f"{final['seconds']:.0f} s; win or draw against random {final['random']:.1%}, against the "
    f"solver {final['solver']:.1%} ({GAMES} games, both seats)"
)
SUMMARY["selfplay"] = {"curve": curve, "games": GAMES}
figure = Figure(figsize=(6, 3.5))
axes = figure.subplots()
for name in rungs:
    axes.plot([p["seconds"] for p in curve], [p[name] for p in curve], marker="o", label=name)
axes.set(xlabel="wall-clock seconds", ylabel="win or draw rate", title="Self-play, TicTacToe-v0")
axes.legend(loc="lower right")
print(f"figure: {save_figure(figure, 'selfplay.png')}")

# One game, the network as X against the solver as O, as the table of moves.
params = agent.unravel(runner.learner.params)
players = (selfplay.make_player(config, game, params), rungs["solver"])
_, state = game.reset(jax.random.key(0), game_params)
step = jax.jit(game.step_without_reset)
for move in range(game.max_moves):
    mover = int(state.current_player)
    action = int(jax.jit(players[mover])(jax.random.key(move), state))
    _, state, reward, terminated, _, _ = step(jax.random.key(0), state, action, game_params)
    rows = "|".join("".join(".XO"[c] for c in row) for row in np.asarray(state.board))
    print(f"{'XO'[mover]} plays ({action // 3},{action % 3}), {rows}, {float(reward):+.0f}")
    if bool(terminated):
        winner = int(state.winner)
        print("draw" if winner < 0 else f"{'XO'[winner]} wins")
        break

# %% [markdown]
# ## 9. Next: RLHF
#
# The same machinery trains language models from preferences: a small LM, a reward model
# learnt from labelled comparisons, then PPO against it (and DPO without it). Run the chapter
# with `jaxrl rlhf`; see `jaxrl/rlhf/` and the README.

# %%
print("next: the RLHF chapter, `jaxrl rlhf` (see jaxrl/rlhf/ and the README)")
write_json(OUT / "summary.json", SUMMARY)
print(f"summary: {OUT / 'summary.json'}")
