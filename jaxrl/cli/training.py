"""The training driver behind `jaxrl train` and `jaxrl sweep`: compiled chunks, files, resume.

A run is `runs = points x seeds` runs of one learner (`--algo`: `jaxrl.agents.ALGORITHMS`)
vmapped into one program and split over every device. It is driven in chunks of
`chunk_updates` updates (the learner's `make_run_updates`): each chunk is one
call of one compiled program, between calls the host draws progress, appends metrics and writes
checkpoints. Chunks give exactly the result of one uninterrupted `train` call, so a resumed run
ends where an uninterrupted one does.

Run folder (every file written atomically, temp file + rename):
    config.json          what defines the run (env, algorithm, config, seeds, sweep, chunking)
    metrics.jsonl        one line per update: env steps, wall-clock seconds, per-run metrics
    checkpoint.msgpack   the whole training state (params, optimizer, normalisers, envs, keys)
    final_params.msgpack the final network parameters and observation statistics, per run
    evaluation.json      the final policies' evaluation returns, per run
    learning_curve.png   return against env steps and against wall-clock (mean and spread)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from jaxrl.agents.common.grid import checked_points, grid_points, hyperparams_grid
from jaxrl.cli.options import UsageError

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.msgpack"
PARAMS_FILE = "final_params.msgpack"
EVALUATION_FILE = "evaluation.json"
CURVE_FILE = "learning_curve.png"
SWEEP_FILE = "sweep.json"
SWEEP_PLOT_FILE = "sweep.png"
RUN_FILES = (
    CONFIG_FILE,
    METRICS_FILE,
    CHECKPOINT_FILE,
    PARAMS_FILE,
    EVALUATION_FILE,
    CURVE_FILE,
    SWEEP_FILE,
    SWEEP_PLOT_FILE,
)
#: Exit status of a run stopped with Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything that defines a run; `config.json` holds it, so `--resume` rebuilds the run.

    Attributes:
        env_id: a registered env id.
        env_overrides: env params replaced by `--set env.<field>=...`.
        config: the learner's config (a `PPOConfig`, a `DQNConfig`, ...).
        algo: the learner's name (`jaxrl.agents.ALGORITHMS`).
        seeds: seeds per sweep point (per run for `train`).
        seed: the first seed; run keys are split from it.
        sweep: swept numeric hyperparameters (`{"learning_rate": [1e-4, 3e-4]}`), or None.
        chunk_updates: updates per compiled call; divides `config.num_updates`.
        checkpoint_every: updates between checkpoints; a multiple of `chunk_updates`.
        eval_episodes: evaluation episodes per run at the end.
    """

    env_id: str
    env_overrides: dict[str, Any]
    config: Any
    seeds: int
    seed: int = 0
    sweep: dict[str, list[float]] | None = None
    chunk_updates: int = 0
    checkpoint_every: int = 0
    eval_episodes: int = 100
    algo: str = "ppo"

    def __post_init__(self):
        num_updates = self.config.num_updates
        if self.seeds < 1:
            raise UsageError(f"--seeds {self.seeds}: train at least one seed.")
        if self.eval_episodes < 1:
            raise UsageError(
                f"--eval-episodes {self.eval_episodes}: evaluate at least one episode."
            )
        if self.chunk_updates == 0:
            object.__setattr__(self, "chunk_updates", default_chunk_updates(num_updates))
        if self.chunk_updates < 1 or num_updates % self.chunk_updates:
            divisors = [d for d in range(1, num_updates + 1) if num_updates % d == 0]
            raise UsageError(
                f"--chunk-updates {self.chunk_updates} does not divide the run's {num_updates} "
                f"updates; use one of {', '.join(map(str, divisors[:12]))}."
            )
        if self.checkpoint_every == 0:
            object.__setattr__(self, "checkpoint_every", self.chunk_updates)
        if self.checkpoint_every < 1 or self.checkpoint_every % self.chunk_updates:
            raise UsageError(
                f"--checkpoint-every {self.checkpoint_every} is not a multiple of the chunk size "
                f"{self.chunk_updates} updates; checkpoints are taken between chunks."
            )
        if self.sweep:
            check_sweep(self.config, self.sweep)

    @property
    def points(self) -> list[dict[str, float]]:
        """The sweep's grid points (one empty point for a plain run); plain Python, so runs are
        counted before JAX starts (the CPU device count and `--distributed` must come first)."""
        return grid_points(**self.sweep) if self.sweep else [{}]

    @property
    def num_runs(self) -> int:
        return len(self.points) * self.seeds

    def to_json(self) -> dict[str, Any]:
        return {
            "env_id": self.env_id,
            "env": self.env_overrides,
            "algo": self.algo,
            "config": dataclasses.asdict(self.config),
            "seeds": self.seeds,
            "seed": self.seed,
            "sweep": self.sweep,
            "chunk_updates": self.chunk_updates,
            "checkpoint_every": self.checkpoint_every,
            "eval_episodes": self.eval_episodes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSpec:
        from jaxrl.agents import learner

        algo = data.get("algo", "ppo")
        fields = dict(data["config"])
        fields["hidden_sizes"] = tuple(fields["hidden_sizes"])
        config_type = type(learner(algo).default_config(data["env_id"]))
        return cls(
            env_id=data["env_id"],
            env_overrides=data.get("env") or {},
            config=config_type(**fields),
            algo=algo,
            seeds=data["seeds"],
            seed=data["seed"],
            sweep=data.get("sweep"),
            chunk_updates=data["chunk_updates"],
            checkpoint_every=data["checkpoint_every"],
            eval_episodes=data.get("eval_episodes", 100),
        )


def check_sweep(config: Any, sweep: dict[str, list[float]]) -> None:
    """UsageError unless every name is sweepable and every grid point a valid config; plain
    Python (no JAX), so a sweep is checked before JAX starts."""
    try:
        checked_points(config, **sweep)
    except ValueError as error:
        raise UsageError(f"--set: {error}") from None


def default_chunk_updates(num_updates: int) -> int:
    """The largest divisor of `num_updates` giving at least ~20 chunks (progress every 5%)."""
    target = max(1, num_updates // 20)
    return max(d for d in range(1, target + 1) if num_updates % d == 0)


def read_spec(run_dir: Path) -> RunSpec:
    """The RunSpec of an existing run folder; one-line errors for a missing or damaged one."""
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise UsageError(
            f"{run_dir} is not a jaxrl run folder (no {CONFIG_FILE}); give RUN as a folder "
            "`jaxrl train` wrote."
        )
    try:
        return RunSpec.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(
            f"{path} is damaged ({type(error).__name__}: {error}); restore it or start a new run."
        ) from None


def prepare_out_dir(out: Path, overwrite: bool) -> None:
    """Checks `out` may be written: refuses an existing run folder unless `overwrite`."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder path.")
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if existing and not overwrite:
        raise UsageError(
            f"--out {out} already holds a run ({', '.join(existing[:3])}); add --resume {out} to "
            "continue it, --overwrite to replace it, or choose another --out."
        )


@dataclasses.dataclass
class RunState:
    """What the driver keeps on the host between chunks."""

    rows: list[dict[str, Any]]
    update: int
    wall_offset_s: float


class Driver:
    """Builds the programs of a run and drives them chunk by chunk.

    Args:
        spec: the run.
        out: the run folder.
        progress: draw a live progress bar (rich).
        on_chunk: called after each chunk with the update count so far (tests use it to
            interrupt a run at a known point).
    """

    def __init__(
        self,
        spec: RunSpec,
        out: Path,
        progress: bool = True,
        on_chunk: Callable[[int], None] | None = None,
    ):
        import jax
        import jax.numpy as jnp

        from jaxrl import distributed, envs
        from jaxrl.agents import learner

        self.spec, self.out, self.progress, self.on_chunk = spec, out, progress, on_chunk
        try:
            self.env, self.env_params = envs.make(spec.env_id, **spec.env_overrides)
        except ValueError as error:
            raise UsageError(str(error)) from None
        self.mesh = distributed.make_mesh()
        try:
            distributed.check_divisible(spec.num_runs, self.mesh, "runs (sweep points x seeds)")
        except ValueError as error:
            raise UsageError(str(error)) from None
        config = spec.config
        seed_keys = jax.random.split(jax.random.key(spec.seed), spec.seeds)
        # Run r is point r // seeds with seed r % seeds: every point sees the same seeds.
        self.keys = jnp.tile(seed_keys, len(spec.points))
        self.hyperparams = None
        if spec.sweep:
            grid, _ = hyperparams_grid(config, **spec.sweep)
            self.hyperparams = jax.tree.map(lambda leaf: jnp.repeat(leaf, spec.seeds), grid)
        batched = spec.sweep is not None
        self.learner = module = learner(spec.algo)
        try:  # a learner refuses an env it cannot act in (DQN on continuous actions)
            init = module.make_init(config, self.env, self.env_params)
        except ValueError as error:
            raise UsageError(str(error)) from None
        self.init = distributed.sharded_vmap(init, self.mesh, batched_hyperparams=batched)
        self.run_chunk = distributed.sharded_vmap(
            module.make_run_updates(
                config, self.env, self.env_params, num_updates=spec.chunk_updates
            ),
            self.mesh,
            batched_hyperparams=batched,
        )
        self.policy = module.make_policy(config, self.env, self.env_params)
        self.start = time.perf_counter()

    def template(self):
        """The runner state's shapes and dtypes, traced without compiling."""
        import jax

        return jax.eval_shape(self.init, self.keys, self.hyperparams)

    def load(self) -> tuple[Any, RunState]:
        """The last checkpoint and the metrics up to it, checked before anything compiles."""
        import jax
        from jax.sharding import NamedSharding, PartitionSpec

        from jaxrl import distributed
        from jaxrl.checkpoint import CheckpointError, load_checkpoint

        try:
            runner, metadata = load_checkpoint(self.out / CHECKPOINT_FILE, self.template())
        except CheckpointError as error:
            raise UsageError(str(error)) from None
        # Placed as `init` places a fresh state, so the chunk program (and its cache entry) is
        # the one an uninterrupted run compiled.
        runner = jax.device_put(runner, NamedSharding(self.mesh, PartitionSpec(distributed.AXIS)))
        update = int(metadata["update"])
        rows = read_metrics(self.out / METRICS_FILE)
        rows = [row for row in rows if row["update"] <= update]
        if len(rows) != update:
            raise UsageError(
                f"{self.out / METRICS_FILE} has {len(rows)} of the checkpoint's {update} updates; "
                "restore it, or start a new run."
            )
        return runner, RunState(rows=rows, update=update, wall_offset_s=float(metadata["wall_s"]))

    def wall_s(self, state: RunState) -> float:
        return state.wall_offset_s + time.perf_counter() - self.start

    def train(self, runner: Any | None, state: RunState) -> tuple[Any, RunState, float, bool]:
        """Runs the remaining chunks; returns (runner, state, compile seconds, interrupted).

        A KeyboardInterrupt between or during chunks keeps the last whole chunk: its metrics
        and a checkpoint are written, and `interrupted` is True.
        """
        from jaxrl.compilation import compile_program
        from jaxrl.distributed import gather

        spec, config = self.spec, self.spec.config
        compile_start = time.perf_counter()
        if runner is None:
            runner = self.init(self.keys, self.hyperparams)
        runs_per_device = spec.num_runs // self.mesh.size
        compiled, _ = compile_program(
            self.run_chunk,
            runner,
            self.hyperparams,
            options=self.learner.compile_options(config, runs_per_device=runs_per_device),
        )
        compile_s = time.perf_counter() - compile_start
        last_saved = state.update
        bar = ProgressBar(spec, enabled=self.progress, done_updates=state.update)
        try:
            with bar:
                while state.update < config.num_updates:
                    chunk_start = self.wall_s(state)
                    next_runner, metrics = compiled(runner, self.hyperparams)
                    metrics = gather(metrics)  # blocks until the chunk is done
                    chunk_end = self.wall_s(state)
                    # The chunk's runner, rows and update count change together: a Ctrl-C
                    # here would otherwise checkpoint a runner an update ahead of its rows.
                    with interrupts_deferred():
                        runner = next_runner
                        new_rows = metric_rows(metrics, state.update, chunk_start, chunk_end)
                        state.rows.extend(new_rows)
                        state.update += spec.chunk_updates
                        bar.advance(spec.chunk_updates, new_rows[-1], chunk_end - chunk_start)
                        if (
                            state.update % spec.checkpoint_every == 0
                            or state.update == config.num_updates
                        ):
                            self.save(runner, state)
                            last_saved = state.update
                    if self.on_chunk is not None:
                        self.on_chunk(state.update)
        except KeyboardInterrupt:
            if state.update != last_saved:
                self.save(runner, state)
            return runner, state, compile_s, True
        return runner, state, compile_s, False

    def save(self, runner: Any, state: RunState) -> None:
        """Metrics, then the checkpoint: the metrics always reach at least the checkpoint."""
        import jax

        from jaxrl.checkpoint import save_checkpoint

        if jax.process_index() == 0:
            write_metrics(self.out / METRICS_FILE, state.rows)
        save_checkpoint(
            self.out / CHECKPOINT_FILE,
            runner,
            {"update": state.update, "wall_s": self.wall_s(state), "env_id": self.spec.env_id},
        )

    def evaluate(self, runner: Any) -> Any:
        """Each run's final policy: `[runs, episodes]` evaluation returns (NumPy)."""
        import jax
        import numpy as np

        from jaxrl.agents.common.policy import play_policy
        from jaxrl.distributed import gather

        policy, episodes = self.policy, self.spec.eval_episodes

        def evaluate_run(learner, key):
            return play_policy(
                policy, policy.params(learner), self.env, self.env_params, episodes, key
            )

        keys = jax.random.split(jax.random.key(self.spec.seed + 10_000), self.spec.num_runs)
        return np.asarray(gather(jax.jit(jax.vmap(evaluate_run))(runner.learner, keys)))

    def save_final_params(self, runner: Any) -> None:
        """Every run's policy parameters (`make_policy`'s: network parameters, observation
        statistics, ...), flax msgpack."""
        import jax
        from flax import serialization

        from jaxrl.distributed import gather
        from jaxrl.files import write_atomically

        payload = gather(jax.jit(jax.vmap(self.policy.params))(runner.learner))
        if jax.process_index() == 0:
            write_atomically(self.out / PARAMS_FILE, serialization.to_bytes(payload))


class ProgressBar:
    """A rich progress bar over env steps with steps/s and the latest mean episode return."""

    def __init__(self, spec: RunSpec, enabled: bool, done_updates: int = 0):
        self.enabled = enabled
        self.steps_per_update = spec.config.rollout_size * spec.num_runs
        self.total = spec.config.num_updates * self.steps_per_update
        self.done = done_updates * self.steps_per_update
        self.latest_return = math.nan
        self.progress = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("[bold]training"),
                BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,} env steps"),
                TextColumn("{task.fields[rate]}"),
                TextColumn("return {task.fields[ret]}"),
                TimeRemainingColumn(),
            )
            self.progress.__enter__()
            self.task = self.progress.add_task(
                "train", total=self.total, completed=self.done, rate="", ret="-"
            )
        return self

    def advance(self, updates: int, last_row: dict[str, Any], seconds: float) -> None:
        steps = updates * self.steps_per_update
        self.done += steps
        returns = [r for r in last_row["episode_return"] if r is not None]
        if returns:
            self.latest_return = sum(returns) / len(returns)
        if self.progress is not None:
            self.progress.update(
                self.task,
                completed=self.done,
                rate=f"{steps / max(seconds, 1e-9):,.0f} steps/s",
                ret=f"{self.latest_return:.1f}",
            )

    def __exit__(self, *exc_info):
        if self.progress is not None:
            self.progress.__exit__(*exc_info)


def metric_rows(
    metrics: dict[str, Any], first_update: int, start_s: float, end_s: float
) -> list[dict[str, Any]]:
    """One JSON-ready row per update of a chunk; NaN (no episode ended) becomes null.

    Args:
        metrics: `[runs, chunk]` arrays per metric name, as a chunk returns them.
        first_update: updates done before the chunk.
        start_s, end_s: wall-clock seconds at the chunk's start and end; the updates are spaced
            evenly between them.
    """
    import numpy as np

    arrays = {name: np.asarray(value) for name, value in metrics.items()}
    chunk = next(iter(arrays.values())).shape[1]
    rows = []
    for index in range(chunk):
        row = {
            "update": first_update + index + 1,
            "env_steps": int(arrays["env_steps"][0, index]),
            "wall_s": round(start_s + (end_s - start_s) * (index + 1) / chunk, 4),
        }
        for name, values in arrays.items():
            if name != "env_steps":
                row[name] = [None if math.isnan(v) else float(v) for v in values[:, index].tolist()]
        rows.append(row)
    return rows


def write_metrics(path: Path, rows: list[dict[str, Any]]) -> None:
    from jaxrl.files import write_atomically

    write_atomically(path, "".join(json.dumps(row) + "\n" for row in rows).encode())


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of a metrics.jsonl; a one-line UsageError when missing or damaged."""
    if not path.is_file():
        raise UsageError(f"no {path}: the run folder is incomplete; start a new run.")
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except ValueError as error:
        raise UsageError(f"{path} is damaged ({error}); restore it or start a new run.") from None


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Within the block a SIGINT is held back, then raised as KeyboardInterrupt when it ends.

    In the main thread only (elsewhere Python delivers no signals, and the block runs as is).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt
