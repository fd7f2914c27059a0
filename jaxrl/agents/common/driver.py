"""The run every learner shares: `init(key, hyperparams)` builds the runner state, updates are
scanned over it, and the result is read off the final runner. A learner supplies the three
pieces; `make_train`, `make_init` and `make_run_updates` put them together the same way for
all, so chunks of updates (progress, checkpoints, resuming) compute what one call does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

Metrics = dict[str, jax.Array]


def checked_num_updates(config: Any, num_updates: int | None) -> int:
    """The updates one `run` call makes: `num_updates`, or the whole run's when None."""
    num_updates = config.num_updates if num_updates is None else num_updates
    if isinstance(num_updates, bool) or not isinstance(num_updates, int) or num_updates < 1:
        raise ValueError(f"num_updates={num_updates!r}: run at least one update per call.")
    return num_updates


def scan_updates(
    update: Callable[[Any], tuple[Any, Metrics]],
    runner: Any,
    num_updates: int,
    log_callback: Callable[[Metrics], None] | None,
) -> tuple[Any, Metrics]:
    """`update(runner) -> (runner, metrics)` scanned `num_updates` times: the final runner and
    each metric stacked `[num_updates]`. `log_callback`, when given, is called on the host with
    each update's metrics and the update index under "update"; it only observes."""

    def one_update(runner, _):
        runner, metrics = update(runner)
        if log_callback is not None:
            index = runner.learner.update_index
            jax.debug.callback(log_callback, {**metrics, "update": index}, ordered=False)
        return runner, metrics

    return jax.lax.scan(one_update, runner, None, num_updates)


def chain(
    init: Callable[..., Any],
    run: Callable[..., tuple[Any, Metrics]],
    result: Callable[[Any, Metrics], Any],
) -> Callable[..., Any]:
    """`train(key, hyperparams=None)`: `init`, then `run` over the whole run, then `result`."""

    def train(key: jax.Array, hyperparams: Any = None) -> Any:
        runner, metrics = run(init(key, hyperparams), hyperparams)
        return result(runner, metrics)

    return train
