"""jaxrl.distributed on 8 forced CPU devices, and on two processes joined by jax.distributed.

The device count is fixed when JAX starts, so the programs run in subprocesses (`main` of this
module): one process with 8 devices, and two processes with 4 devices each (8 in all,
gloo collectives on localhost). They save their results; the tests compare them.

Checked: seeds and a sweep split over devices equal each run alone on one device; a data-parallel
update equals the single-device update on the same global batch (the advantages of each shard
are offset, so per-shard advantage normalisation would fail it); the normaliser's merged
statistics equal one update over the global batch; two hosts agree with one; bad inputs are
one-line errors.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import distributed, envs
from jaxrl.agents import ppo
from jaxrl.agents.ppo import train as ppo_train
from jaxrl.agents.ppo.networks import make_agent
from jaxrl.normalization import RunningStats

# Subprocesses of 8 devices and of two joined hosts, each compiling its programs.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NUM_DEVICES = 8
# Fast, unoptimised compiles: these programs are compared, not timed.
XLA_FLAGS = "--xla_backend_optimization_level=0 --xla_cpu_opt_preset=CPU_OPT_PRESET_FAST_COMPILE"
SUBPROCESS_TIMEOUT_S = 300

#: Seeds and sweeps: the smallest program (each PPO program costs ~5 s of CPU to compile).
CONFIG = ppo.PPOConfig(
    total_timesteps=8 * 16 * 2,
    num_envs=8,
    num_steps=16,
    update_epochs=2,
    num_minibatches=2,
    hidden_sizes=(8,),
)
#: Data parallel: both normalisers on, so their merged statistics are exercised.
DP_CONFIG = CONFIG.replace(
    hidden_sizes=(16, 16), normalize_observations=True, normalize_rewards=True
)
SWEEP = dict(learning_rate=[1e-3, 3e-3], clip_eps=[0.1, 0.3], ent_coef=[0.0, 0.01])


def _flatten(tree, prefix: str) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(distributed.gather(tree))[0]
    return {prefix + jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def _stack(results: list) -> object:
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *results)


def _training(result, prefix: str) -> dict[str, np.ndarray]:
    return _flatten({"params": result.params, "metrics": result.metrics}, prefix)


def _data_parallel(env, env_params) -> dict[str, np.ndarray]:
    result = distributed.data_parallel_train(DP_CONFIG, env, env_params)(jax.random.key(1))
    return {
        **_training(result, "dp"),
        **_flatten(result.obs_stats, "dp_obs_stats"),
        # Split over devices (and hosts): [num_envs, 4] once gathered.
        **_flatten(result.runner_state.envs.obs, "dp_obs"),
    }


def _update_equality(env, env_params) -> dict[str, np.ndarray]:
    """3 epochs of one minibatch on a 64-transition batch: 8 shards, and one device."""
    config = DP_CONFIG.replace(num_steps=8, num_minibatches=1, update_epochs=3)
    agent = make_agent(config, env, env_params)
    hyperparams = config.hyperparams
    optimizer = ppo_train.make_optimizer(config, hyperparams, hyperparams.learning_rate)

    def setup(key):
        key_params, key_obs, key_action, key_noise = jax.random.split(key, 4)
        flat_params = agent.flat.init_from_bits(jax.random.bits(key_params, (agent.flat.size,)))
        obs = jax.random.normal(key_obs, (config.batch_size, 4))
        policy, value = agent.network.apply(agent.unravel(flat_params), obs)
        action = policy.sample(key_action)
        noise = jax.random.normal(key_noise, (3, config.batch_size))
        # Shard s holds transitions [8s, 8s + 8): give each shard's advantages its own offset.
        shard_offset = 3.0 * jnp.repeat(jnp.arange(NUM_DEVICES, dtype=jnp.float32), 8)
        batch = {
            "obs": obs,
            "action": action,
            "log_prob": policy.log_prob(action) + 0.1 * noise[0],
            "value": value,
            "advantage": noise[1] + shard_offset,
            "target": value + noise[2],
        }
        return (flat_params, optimizer.init(flat_params)), batch

    def epochs(start, batch, local_config, axis_name):
        # One minibatch per epoch: the shuffle does not change the update.
        shuffle_bits = jax.random.bits(
            jax.random.key(3), (config.update_epochs, local_config.batch_size)
        )
        (params, _), infos = jax.lax.scan(
            lambda carry, bits: ppo_train.update_epoch(
                carry,
                bits,
                batch,
                local_config,
                agent,
                hyperparams,
                hyperparams.learning_rate,
                axis_name,
            ),
            start,
            shuffle_bits,
        )
        return params, infos

    def single(key):
        start, batch = setup(key)
        return start, batch, epochs(start, batch, config, None)

    start, batch, (single_params, single_infos) = jax.jit(single)(jax.random.key(2))
    shard_config = config.per_shard(NUM_DEVICES)

    def shard(start, batch):
        params, infos = epochs(start, batch, shard_config, distributed.AXIS)
        return params[None], infos

    mesh = distributed.make_mesh()
    spec = jax.sharding.PartitionSpec(distributed.AXIS)
    sharded = jax.jit(
        jax.shard_map(
            shard,
            mesh=mesh,
            in_specs=(jax.sharding.PartitionSpec(), spec),
            out_specs=(spec, jax.sharding.PartitionSpec()),
            check_vma=False,
        )
    )
    shard_params, shard_infos = sharded(start, batch)
    return {
        "update_single_params": np.asarray(single_params),
        "update_shard_params": np.asarray(shard_params),
        **_flatten(vars(single_infos), "update_single_info"),
        **_flatten(vars(shard_infos), "update_shard_info"),
    }


def _stats_equality() -> dict[str, np.ndarray]:
    """Normaliser statistics folded in from 8 shards of a [T, N, 4] rollout, and from all of it."""
    obs = jax.random.normal(jax.random.key(4), (16, NUM_DEVICES * 2, 4))
    obs = obs * 2.0 + jnp.arange(NUM_DEVICES * 2, dtype=jnp.float32)[None, :, None]
    stats = RunningStats(mean=jnp.full(4, 0.5), var=jnp.full(4, 2.0), count=jnp.asarray(10.0))
    spec = jax.sharding.PartitionSpec(None, distributed.AXIS)
    merged = jax.jit(
        jax.shard_map(
            lambda o: stats.update(o, distributed.AXIS),
            mesh=distributed.make_mesh(),
            in_specs=spec,
            out_specs=jax.sharding.PartitionSpec(),
            check_vma=False,
        )
    )(obs)
    return {**_flatten(stats.update(obs), "stats_single"), **_flatten(merged, "stats_shard")}


def _errors(train, env, env_params) -> dict[str, np.ndarray]:
    messages = {}
    attempts = {
        "seeds": lambda: distributed.shard_seeds(train, jax.random.split(jax.random.key(0), 6)),
        "num_envs": lambda: distributed.data_parallel_train(
            DP_CONFIG.replace(num_envs=12), env, env_params
        ),
        "minibatch": lambda: distributed.data_parallel_train(
            DP_CONFIG.replace(num_steps=2, num_minibatches=4), env, env_params
        ),
    }
    for name, attempt in attempts.items():
        try:
            attempt()
            messages[name] = np.asarray("no error")
        except ValueError as error:
            messages[name] = np.asarray(str(error))
    return {f"error_{name}": message for name, message in messages.items()}


def run_one_host(out: Path) -> None:
    """Everything on one process with 8 devices."""
    assert jax.device_count() == NUM_DEVICES, "run with the forced device count"
    env, env_params = envs.make("CartPole-v1")
    train = ppo.make_train(CONFIG, env, env_params)
    keys = jax.random.split(jax.random.key(0), NUM_DEVICES)
    grid, _ = ppo.hyperparams_grid(CONFIG, **SWEEP)
    sweep_key = jax.random.key(5)
    # The references: each run alone on one device, one compiled program for all 16 of them.
    single = jax.jit(train)
    points = [jax.tree.map(lambda leaf, i=i: leaf[i], grid) for i in range(NUM_DEVICES)]
    reference = _stack([single(key, CONFIG.hyperparams) for key in keys])
    sweep_reference = _stack([single(sweep_key, point) for point in points])
    seeds = distributed.shard_seeds(train, keys)
    sweep = distributed.shard_seeds(train, sweep_key, grid)
    results = {
        **_training(reference, "seeds_reference"),
        **_training(sweep_reference, "sweep_reference"),
        **_training(sweep, "sweep"),
        **_training(seeds, "seeds"),
        "seeds_devices": np.asarray(len(seeds.params["params"]["value_head"]["bias"].devices())),
        "seeds_split": np.asarray(
            seeds.metrics["episodes"].sharding.spec == jax.sharding.PartitionSpec(distributed.AXIS)
        ),
        **_data_parallel(env, env_params),
        **_update_equality(env, env_params),
        **_stats_equality(),
        **_errors(train, env, env_params),
    }
    np.savez(out, **results)


def run_host(out: Path, process_id: int) -> None:
    """One of two processes, 4 devices each, joined through jax.distributed (by `_BOOTSTRAP`)."""
    assert jax.device_count() == NUM_DEVICES and jax.local_device_count() == NUM_DEVICES // 2
    env, env_params = envs.make("CartPole-v1")
    results = {
        **_data_parallel(env, env_params),
        "process_count": np.asarray(jax.process_count()),
    }
    if process_id == 0:
        np.savez(out, **results)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A subprocess's entry point. `jax.distributed.initialize` must come before anything starts JAX's
# backend, and importing jaxrl.agents (so this module) does: the bootstrap joins first.
_BOOTSTRAP = """
import sys
from jaxrl import distributed
role, out, *host = sys.argv[1:]
if role == "host":
    distributed.initialize_distributed(f"127.0.0.1:{host[0]}", 2, int(host[1]))
from tests import test_distributed
test_distributed.main(role, out, *host)
"""


def main(role: str, out: str, *host: str) -> None:
    jax.config.update("jax_numpy_rank_promotion", "raise")
    if role == "one_host":
        run_one_host(Path(out))
    else:
        run_host(Path(out), process_id=int(host[1]))


def _spawn(log: Path, devices: int, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices} {XLA_FLAGS}",
        "JAX_PLATFORMS": "cpu",
    }
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, *args],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs the one-host and the two-host programs side by side; their saved results."""
    tmp = tmp_path_factory.mktemp("distributed")
    port = str(_free_port())
    processes = {
        "one_host": _spawn(tmp / "one_host.log", NUM_DEVICES, "one_host", str(tmp / "one.npz")),
        **{
            f"host_{i}": _spawn(
                tmp / f"host_{i}.log", NUM_DEVICES // 2, "host", str(tmp / "two.npz"), port, str(i)
            )
            for i in range(2)
        },
    }
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT_S
    # A failed process leaves its peer waiting for it: stop everything at the first failure.
    while time.monotonic() < deadline and any(p.poll() is None for p in processes.values()):
        if any(p.poll() not in (None, 0) for p in processes.values()):
            break
        time.sleep(0.2)
    for process in processes.values():
        if process.poll() is None:
            process.kill()
        process.wait()
    failures = [
        f"{name} exited with {process.returncode}:\n{(tmp / f'{name}.log').read_text()[-4000:]}"
        for name, process in processes.items()
        if process.returncode != 0
    ]
    if failures:
        pytest.fail("\n".join(failures))
    with np.load(tmp / "one.npz") as one, np.load(tmp / "two.npz") as two:
        return dict(one), dict(two)


def _assert_close(results: dict, prefix: str, expected: dict, expected_prefix: str, **tolerance):
    names = sorted(
        name[len(prefix) :]
        for name in results
        if name.startswith(prefix) and name[len(prefix) : len(prefix) + 1] in ("[", ".")
    )
    assert names, prefix
    for name in names:
        np.testing.assert_allclose(
            results[prefix + name], expected[expected_prefix + name], err_msg=name, **tolerance
        )


def test_sharded_seeds_equal_runs_on_one_device(runs):
    one, _ = runs
    assert int(one["seeds_devices"]) == NUM_DEVICES
    assert bool(one["seeds_split"])
    _assert_close(one, "seeds", one, "seeds_reference", rtol=1e-4, atol=1e-5)


def test_sharded_sweep_equals_unsharded(runs):
    one, _ = runs
    _assert_close(one, "sweep", one, "sweep_reference", rtol=1e-4, atol=1e-5)
    # The points differ from one another: the sweep really is one.
    lr = one["sweep['metrics']['learning_rate']"][:, 0]
    np.testing.assert_allclose(lr, [1e-3] * 4 + [3e-3] * 4, rtol=1e-6)


def test_data_parallel_update_equals_single_device_update(runs):
    one, _ = runs
    shard_params = one["update_shard_params"]
    assert shard_params.shape[0] == NUM_DEVICES
    # Every device holds the same parameters, bit for bit.
    np.testing.assert_array_equal(
        shard_params, np.broadcast_to(shard_params[0], shard_params.shape)
    )
    np.testing.assert_allclose(shard_params[0], one["update_single_params"], rtol=1e-5, atol=1e-6)
    assert not np.allclose(shard_params[0], 0.0)
    _assert_close(one, "update_shard_info", one, "update_single_info", rtol=1e-4, atol=1e-6)


def test_merged_normaliser_statistics_equal_one_update_over_the_global_batch(runs):
    one, _ = runs
    _assert_close(one, "stats_shard", one, "stats_single", rtol=1e-5, atol=1e-6)


def test_data_parallel_run_is_global(runs):
    one, _ = runs
    assert one["dp_obs"].shape == (DP_CONFIG.num_envs, 4)
    np.testing.assert_array_equal(one["dp['metrics']['env_steps']"], [128, 256])
    assert np.all(np.isfinite(one["dp['metrics']['total_loss']"]))
    # Observation statistics count every device's transitions (plus the initial epsilon).
    np.testing.assert_allclose(one["dp_obs_stats.count"], 256.0, rtol=1e-5)


def test_two_processes_agree_with_one(runs):
    one, two = runs
    assert int(two["process_count"]) == 2
    _assert_close(two, "dp", one, "dp", rtol=1e-5, atol=1e-6)
    _assert_close(two, "dp_obs_stats", one, "dp_obs_stats", rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(two["dp_obs"], one["dp_obs"], rtol=1e-5, atol=1e-6)


def test_bad_inputs_are_one_line_errors(runs):
    one, _ = runs
    expected = {
        "seeds": "6 runs (seeds x sweep points) do not split evenly over 8 devices; use a "
        "multiple of 8 (e.g. 8).",
        "num_envs": "num_envs=12 does not split over 8 devices; use a multiple of 8 (e.g. 16).",
        "minibatch": "num_minibatches=4",
    }
    for name, text in expected.items():
        message = str(one[f"error_{name}"])
        assert text in message, message
        assert "\n" not in message
