"""Training on every local device and on several hosts, with JAX's own machinery.

All devices form one 1-D `Mesh` (axis `AXIS`); two ways to use it:

- Many runs at once (seeds, sweep points): `shard_seeds(train, keys, hyperparams)` is
  `jax.vmap(train)` with the batch axis split over the devices: inputs and outputs carry a
  `NamedSharding`, and inside a `jax.shard_map` each device runs its own share of the runs with no
  communication. Every run equals that run alone on one device (up to float rounding).
- One run, data parallel: `data_parallel_train(config, env, env_params)`: the run's envs are split
  over the devices and every minibatch gradient is averaged across them, so the parameters stay
  identical everywhere (see `jaxrl.agents.ppo.train` for what equals the single-device run).

Several hosts: every process calls `initialize_distributed(...)` before any JAX computation,
then runs the same program:
`jax.devices()` lists every host's devices, so the same mesh spans them all. `gather(result)`
brings a result sharded over hosts to every process.

>>> distributed.initialize_distributed("10.0.0.1:1234", num_processes=2, process_id=0)  # optional
>>> result = distributed.shard_seeds(ppo.make_train(config, env, params), keys)
>>> result = distributed.data_parallel_train(config, env, params)(jax.random.key(0))
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

if TYPE_CHECKING:
    from jaxrl.agents.ppo.config import PPOConfig, PPOHyperparams
    from jaxrl.agents.ppo.train import TrainResult
    from jaxrl.envs.core import Environment, EnvParams

#: The mesh axis every device lies along.
AXIS = "devices"


def make_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A 1-D mesh over `devices` (default: every device of every process), axis `AXIS`."""
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.asarray(devices), (AXIS,))


def initialize_distributed(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> None:
    """Joins this process to a multi-host run (`jax.distributed.initialize`); call it first.

    Args:
        coordinator_address: "host:port" of process 0, reachable from every process. None lets
            JAX detect a cluster (SLURM, Open MPI, Cloud TPU) and take all three from it.
        num_processes: processes in the run, usually one per host.
        process_id: this process's rank, 0 to num_processes - 1.
    """
    # CPU devices need a collectives backend to talk across processes; GPUs and TPUs ignore it.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """A script's `--distributed --coordinator --num-processes --process-id` flags."""
    group = parser.add_argument_group("several hosts (jax.distributed)")
    group.add_argument(
        "--distributed", action="store_true", help="join a multi-host run before JAX starts"
    )
    group.add_argument(
        "--coordinator", default=None, help="HOST:PORT of process 0 (default: detect the cluster)"
    )
    group.add_argument("--num-processes", type=int, default=None, help="processes in the run")
    group.add_argument("--process-id", type=int, default=None, help="this process's rank")


def initialize_from_args(args: argparse.Namespace) -> None:
    """`initialize_distributed` with the flags of `add_arguments`, when --distributed is set."""
    if args.distributed:
        initialize_distributed(args.coordinator, args.num_processes, args.process_id)


def check_divisible(num_runs: int, mesh: Mesh, what: str = "runs (seeds x sweep points)") -> None:
    """A one-line ValueError naming the fix unless `num_runs` splits evenly over the mesh."""
    num_devices = mesh.size
    if num_runs < 1 or num_runs % num_devices:
        fix = num_devices * max(1, -(-num_runs // num_devices))
        raise ValueError(
            f"{num_runs} {what} do not split evenly over {num_devices} devices; use a multiple "
            f"of {num_devices} (e.g. {fix})."
        )


def sharded_vmap(
    train: Callable[..., TrainResult],
    mesh: Mesh | None = None,
    batched_keys: bool = True,
    batched_hyperparams: bool = False,
) -> Callable[..., TrainResult]:
    """`jax.jit(jax.vmap(train))` with the batch axis split over the mesh's devices.

    Args:
        train: `train(key, hyperparams=None) -> TrainResult`, as `ppo.make_train` builds it.
        mesh: a 1-D mesh along `AXIS`; every device by default.
        batched_keys: the keys argument is `[B]` keys (else one key shared by every run).
        batched_hyperparams: the hyperparams argument is a `PPOHyperparams` with `[B]` leaves
            (else None: the config's own).

    Returns:
        `program(keys, hyperparams) -> TrainResult` (hyperparams None unless batched), every
        leaf `[B, ...]` and sharded along B; B must be a multiple of the device count
        (`check_divisible`). On several hosts every process passes the same full inputs.
    """
    mesh = make_mesh() if mesh is None else mesh
    batch, whole = P(AXIS), P()
    key_spec = batch if batched_keys else whole
    hyperparams_spec = batch if batched_hyperparams else whole
    in_axes = (0 if batched_keys else None, 0 if batched_hyperparams else None)

    def run_share(keys, hyperparams):
        return jax.vmap(train, in_axes=in_axes)(keys, hyperparams)

    program = jax.shard_map(
        run_share,
        mesh=mesh,
        in_specs=(key_spec, hyperparams_spec),
        out_specs=batch,
        # Unchecked, as in data_parallel_train: a sweep's shared key makes the initial
        # parameters replicated, and checked gradients with respect to replicated values come
        # back summed over devices.
        check_vma=False,
    )
    return jax.jit(
        program,
        in_shardings=(NamedSharding(mesh, key_spec), NamedSharding(mesh, hyperparams_spec)),
        out_shardings=NamedSharding(mesh, batch),
    )


def shard_seeds(
    train: Callable[..., TrainResult],
    keys: jax.Array,
    hyperparams: PPOHyperparams | None = None,
    mesh: Mesh | None = None,
) -> TrainResult:
    """Runs `jax.vmap(train)(keys, hyperparams)` with the runs split over every device.

    Args:
        train: `train(key, hyperparams=None)`, as `ppo.make_train` builds it.
        keys: `[B]` typed PRNG keys (`jax.random.key`), one per run; or one key shared by every
            run of a sweep.
        hyperparams: None (the config's), or a `PPOHyperparams` with `[B]` leaves (a sweep, e.g.
            from `ppo.hyperparams_grid`).
        mesh: a 1-D mesh along `AXIS`; every device (of every host) by default.

    Returns:
        The `TrainResult` of every run, leaves `[B, ...]`, sharded over the devices; equal to
        `jax.vmap(train)` on one device (up to float rounding). `gather` reads it on any host.

    Raises:
        ValueError: B is not a multiple of the device count, or keys and hyperparams disagree.
    """
    mesh = make_mesh() if mesh is None else mesh
    batched_keys = keys.ndim == 1
    sizes = {keys.shape[0]} if batched_keys else set()
    if hyperparams is not None:
        sizes |= {leaf.shape[0] if leaf.ndim else 0 for leaf in jax.tree.leaves(hyperparams)}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(
            f"keys and hyperparams give batch sizes {sorted(sizes)}; pass [B] keys and/or "
            "hyperparams with [B] leaves (ppo.hyperparams_grid), one B for all."
        )
    check_divisible(sizes.pop(), mesh)
    program = sharded_vmap(train, mesh, batched_keys, hyperparams is not None)
    return program(keys, hyperparams)


def data_parallel_train(
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    mesh: Mesh | None = None,
    log_callback: Callable[[dict[str, jax.Array]], None] | None = None,
) -> Callable[..., TrainResult]:
    """One PPO run with its `config.num_envs` envs split evenly over the mesh's devices.

    Each device steps `num_envs / devices` envs and shuffles its own share of every rollout; a
    minibatch is every device's share together, its gradient the mean of theirs (`pmean`), and
    the advantage normalisation, normaliser statistics and metrics are over the whole batch. So
    the parameters are identical on every device and an update equals the single-device update
    on the same global minibatches, up to float summation order (the rollouts differ: each
    device draws its own random numbers).

    Args:
        config: the single-device config; `num_envs` (and each device's share of a minibatch)
            must split evenly over the devices.
        env, env_params: as for `ppo.make_train`.
        mesh: a 1-D mesh along `AXIS`; every device (of every host) by default.
        log_callback: as for `ppo.make_train`; every device calls it, with the same metrics.

    Returns:
        A jitted `train(key, hyperparams=None) -> TrainResult`. The parameters, statistics and
        metrics are replicated; the runner state's envs, observations and discounted returns are
        concatenated over devices (`[num_envs]`), and its key holds one key per device.

    Raises:
        ValueError: num_envs or a minibatch does not split over the devices (one line).
    """
    from jaxrl.agents.ppo.train import data_parallel_specs, make_train

    mesh = make_mesh() if mesh is None else mesh
    config.per_shard(mesh.size)  # a one-line error before anything traces
    train = make_train(config, env, env_params, log_callback=log_callback, axis_name=AXIS)

    def run_shard(key, hyperparams):
        result = train(key, hyperparams)
        runner = result.runner_state
        return result.replace(runner_state=runner.replace(key=runner.key[None]))

    shared = P()
    out_specs = data_parallel_specs(replicated=shared, split=P(AXIS))
    # With check_vma=True, a gradient with respect to replicated parameters comes back already
    # summed over devices; unchecked, it is each device's own, as under vmap or pmap, and
    # train's explicit pmean makes it the mean.
    program = jax.shard_map(
        run_shard, mesh=mesh, in_specs=(shared, shared), out_specs=out_specs, check_vma=False
    )

    def data_parallel(key: jax.Array, hyperparams: PPOHyperparams | None = None) -> TrainResult:
        return program(key, hyperparams)

    return jax.jit(data_parallel, in_shardings=NamedSharding(mesh, shared))


def gather(tree: Any) -> Any:
    """A (possibly multi-host) sharded pytree as NumPy arrays, whole, in every process.

    PRNG key arrays come back as their raw `uint32` key data.
    """
    tree = jax.tree.map(_key_data_if_key, tree)
    if jax.process_count() > 1:
        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.device_get(tree)


def _key_data_if_key(leaf: jax.Array) -> jax.Array:
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(leaf)
    return leaf
