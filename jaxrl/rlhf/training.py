"""Supervised fitting shared by pretraining, the reward model and DPO: minibatch Adam steps on a
fixed dataset, all steps in one `lax.scan`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from jaxrl.checks import check_positive_ints


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """Settings of one supervised stage (static).

    Attributes:
        steps: Adam steps.
        batch_size: examples per step, drawn uniformly with replacement from the dataset.
        learning_rate: peak learning rate, after a linear warm-up over the first 10% of steps,
            then cosine decay to 10% of the peak.
        max_grad_norm: global gradient-norm clip.
        weight_decay: AdamW's decoupled weight decay.
    """

    steps: int = 1000
    batch_size: int = 64
    learning_rate: float = 1e-3
    max_grad_norm: float = 1.0
    weight_decay: float = 0.0

    def __post_init__(self):
        check_positive_ints(self, ("steps", "batch_size"))
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate={self.learning_rate!r}: must be positive, e.g. 1e-3.")
        if not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm={self.max_grad_norm!r}: must be positive, e.g. 1.")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay={self.weight_decay!r}: must be non-negative.")


def make_optimizer(config: FitConfig) -> optax.GradientTransformation:
    warmup = max(1, config.steps // 10)
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, config.learning_rate, warmup, max(config.steps, warmup + 1), 0.1 * config.learning_rate
    )
    return optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm),
        optax.adamw(schedule, weight_decay=config.weight_decay),
    )


def fit(
    loss_fn: Callable[[Any, Any], tuple[jax.Array, dict[str, jax.Array]]],
    params: Any,
    data: Any,
    key: jax.Array,
    config: FitConfig,
) -> tuple[Any, dict[str, jax.Array]]:
    """Minimises `loss_fn(params, batch)` by minibatch AdamW.

    Args:
        loss_fn: `(params, batch) -> (scalar loss, dict of scalar metrics)`; `batch` is `data`
            indexed along its leading axis.
        params: initial parameters (any pytree).
        data: a pytree of arrays sharing a leading dataset axis `[N, ...]`.
        key: randomness of the minibatch draws.
        config: steps, batch size and optimiser settings.

    Returns:
        The final parameters, and the metrics of every step (`[steps]` each, "loss" included).
    """
    optimizer = make_optimizer(config)
    size = jax.tree.leaves(data)[0].shape[0]
    # The optimiser sees one flat vector: one AdamW update instead of one per parameter array,
    # which cuts the stage's compile time several-fold (as in jaxrl's PPO).
    flat_params, unravel = ravel_pytree(params)
    flat_loss = lambda flat, batch: loss_fn(unravel(flat), batch)

    def step(carry, step_key):
        flat_params, opt_state = carry
        indices = jax.random.randint(step_key, (config.batch_size,), 0, size)
        batch = jax.tree.map(lambda x: x[indices], data)
        (loss, metrics), grads = jax.value_and_grad(flat_loss, has_aux=True)(flat_params, batch)
        updates, opt_state = optimizer.update(grads, opt_state, flat_params)
        return (optax.apply_updates(flat_params, updates), opt_state), {"loss": loss, **metrics}

    (flat_params, _), metrics = jax.lax.scan(
        step, (flat_params, optimizer.init(flat_params)), jax.random.split(key, config.steps)
    )
    return unravel(flat_params), metrics


def mean_in_chunks(metrics: dict[str, jax.Array], chunks: int) -> dict[str, list[float]]:
    """Per-step metrics `[steps]` averaged over `chunks` equal spans (host-side, for reports)."""
    out = {}
    for name, values in metrics.items():
        values = jnp.asarray(values)
        usable = values.shape[0] - values.shape[0] % chunks if values.shape[0] >= chunks else 0
        if usable == 0:
            out[name] = [float(v) for v in values]
        else:
            out[name] = [float(v) for v in values[:usable].reshape(chunks, -1).mean(axis=1)]
    return out
