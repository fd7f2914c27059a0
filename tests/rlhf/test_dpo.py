"""DPO and its variants (IPO, conservative DPO): hand-worked losses, their optima, config
validation, jit == eager, and one program vmapped over seeds and betas == a loop."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from jaxrl.rlhf import corpus
from jaxrl.rlhf.dpo import DPOConfig, dpo_loss, make_train_dpo, pair_log_probs
from jaxrl.rlhf.model import ModelConfig, init_language_model, response_mask, sequence_log_probs
from jaxrl.rlhf.reward_model import Preferences
from jaxrl.rlhf.training import FitConfig

TINY = ModelConfig(d_model=32, num_layers=1, num_heads=2, max_len=12)


def softplus(x):
    return math.log1p(math.exp(x))


def _log_probs_with_margins(margins):
    """Policy/reference log-probabilities whose log-ratio margins h are `margins`."""
    margins = jnp.asarray(margins, jnp.float32)
    zeros = jnp.zeros_like(margins)
    return margins - 3.0, zeros - 3.0, zeros - 1.0, zeros - 1.0


def test_ipo_loss_hand_worked():
    # Target 1 / (2 * 0.5) = 1: (1 - 1)^2 = 0, (-1 - 1)^2 = 4, (3 - 1)^2 = 4.
    loss, info = dpo_loss(*_log_probs_with_margins([1.0, -1.0, 3.0]), 0.5, loss_type="ipo")
    assert float(loss) == pytest.approx(8.0 / 3.0, rel=1e-6)
    assert float(info["accuracy"]) == pytest.approx(2.0 / 3.0)
    assert float(info["margin"]) == pytest.approx(0.5, rel=1e-6)  # 0.5 * mean(1, -1, 3)
    # Target 1 / (2 * 0.25) = 2: (1 - 2)^2 = 1, (-1 - 2)^2 = 9.
    loss, _ = dpo_loss(*_log_probs_with_margins([1.0, -1.0]), 0.25, loss_type="ipo")
    assert float(loss) == pytest.approx(5.0, rel=1e-6)


def test_conservative_loss_hand_worked():
    # beta * h = 1 and 0; eps = 0.1: 0.9 * softplus(-1) + 0.1 * softplus(1), then log 2.
    loss, _ = dpo_loss(
        *_log_probs_with_margins([2.0, 0.0]), 0.5, loss_type="conservative", label_smoothing=0.1
    )
    expected = (0.9 * softplus(-1.0) + 0.1 * softplus(1.0) + math.log(2.0)) / 2
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    sigmoid, _ = dpo_loss(*_log_probs_with_margins([2.0, 0.0]), 0.5)
    unsmoothed, _ = dpo_loss(
        *_log_probs_with_margins([2.0, 0.0]), 0.5, loss_type="conservative", label_smoothing=0.0
    )
    assert float(unsmoothed) == pytest.approx(float(sigmoid), rel=1e-6)


@pytest.mark.parametrize(
    "loss_type, label_smoothing, beta, optimum",
    [
        # IPO's minimum is at h = 1 / (2 * beta).
        ("ipo", 0.0, 0.25, 2.0),
        # cDPO's is where sigmoid(beta * h) = 1 - eps: beta * h = log(0.9 / 0.1).
        ("conservative", 0.1, 0.5, math.log(9.0) / 0.5),
    ],
)
def test_variants_have_a_finite_optimal_margin(loss_type, label_smoothing, beta, optimum):
    def loss_at(h):
        return dpo_loss(
            *_log_probs_with_margins(h[None]),
            beta,
            loss_type=loss_type,
            label_smoothing=label_smoothing,
        )[0]

    grad = jax.grad(loss_at)
    assert float(grad(jnp.float32(optimum))) == pytest.approx(0.0, abs=1e-5)
    assert float(grad(jnp.float32(optimum - 1.0))) < 0 < float(grad(jnp.float32(optimum + 1.0)))


@pytest.mark.parametrize(
    "loss_type, label_smoothing", [("sigmoid", 0.0), ("ipo", 0.0), ("conservative", 0.2)]
)
def test_dpo_loss_jit_equals_eager(loss_type, label_smoothing):
    pc, pr, rc, rr = (jax.random.normal(jax.random.key(i), (8,)) for i in range(4))

    def loss(pc, pr, rc, rr, beta):
        return dpo_loss(pc, pr, rc, rr, beta, loss_type=loss_type, label_smoothing=label_smoothing)

    eager, eager_info = loss(pc, pr, rc, rr, 0.3)
    jitted, jitted_info = jax.jit(loss)(pc, pr, rc, rr, jnp.float32(0.3))
    assert float(jitted) == pytest.approx(float(eager), rel=1e-6)
    assert float(jitted_info["margin"]) == pytest.approx(float(eager_info["margin"]), rel=1e-5)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"beta": 0}, "beta=0"),
        ({"beta": math.inf}, "beta=inf"),
        ({"loss_type": "hinge"}, "loss_type='hinge': choose one of 'sigmoid', 'ipo'"),
        (
            {"loss_type": "conservative", "label_smoothing": 0.5},
            r"label_smoothing=0.5: .*\[0, 0.5\)",
        ),
        ({"label_smoothing": -0.1}, "label_smoothing=-0.1"),
        ({"loss_type": "conservative"}, "set label_smoothing in"),
        ({"label_smoothing": 0.1}, "applies only to loss_type='conservative'"),
        ({"loss_type": "ipo", "label_smoothing": 0.1}, "applies only to loss_type='conservative'"),
    ],
)
def test_dpo_config_rejects_bad_values(changes, message):
    with pytest.raises(ValueError, match=message) as error:
        DPOConfig(**changes)
    assert "\n" not in str(error.value)


def test_dpo_loss_rejects_an_unknown_loss_type():
    with pytest.raises(ValueError, match="loss_type='kto'"):
        dpo_loss(*_log_probs_with_margins([1.0]), 0.1, loss_type="kto")


def _pairs(num_pairs):
    texts = [t for t in corpus.generate_corpus(200, seed=0) if len(t.split()) + 2 <= TINY.max_len]
    tokens = jnp.asarray(np.stack([corpus.encode(t, TINY.max_len) for t in texts]))
    zeros = jnp.zeros((num_pairs,), jnp.float32)
    return Preferences(
        chosen=tokens[:num_pairs],
        rejected=tokens[num_pairs : 2 * num_pairs],
        gold_chosen=zeros,
        gold_rejected=zeros,
    )


@pytest.fixture(scope="module")
def ref_params():
    return jax.jit(lambda key: init_language_model(TINY, key))(jax.random.key(0))


def test_ipo_averages_log_probs_over_response_tokens(ref_params):
    pairs = _pairs(4)
    chosen, rejected, total = jax.jit(
        lambda params, chosen, rejected: (
            *pair_log_probs(TINY, params, chosen, rejected, length_average=True),
            sequence_log_probs(TINY, params, chosen),
        )
    )(ref_params, pairs.chosen, pairs.rejected)
    lengths = response_mask(pairs.chosen).sum(axis=1)
    np.testing.assert_allclose(chosen, total / lengths, rtol=1e-6)
    assert rejected.shape == (4,)


def test_vmap_over_seeds_and_betas_equals_a_loop(ref_params):
    # cDPO reads beta and the label smoothing; the other losses share its trainer.
    config = DPOConfig(
        loss_type="conservative",
        label_smoothing=0.1,
        fit=FitConfig(steps=4, batch_size=8, learning_rate=1e-2),
    )
    pairs = _pairs(16)
    train = make_train_dpo(TINY, config)
    keys = jax.random.split(jax.random.key(1), 2)
    betas = jnp.array([0.1, 1.0], jnp.float32)
    # Seeds x betas, flattened: one program trains all four policies.
    grid_keys, grid_betas = jnp.repeat(keys, 2), jnp.tile(betas, 2)
    sweep = jax.jit(jax.vmap(train, in_axes=(None, None, 0, 0)))
    swept_params, swept_metrics = sweep(ref_params, pairs, grid_keys, grid_betas)

    one = jax.jit(train)
    flat_ref, _ = ravel_pytree(ref_params)
    flat_swept = jax.vmap(lambda params: ravel_pytree(params)[0])(swept_params)
    for i in range(4):
        params, metrics = one(ref_params, pairs, grid_keys[i], grid_betas[i])
        for name in ("loss", "margin"):
            np.testing.assert_allclose(swept_metrics[name][i], metrics[name], rtol=1e-5, atol=1e-6)
        # Adam divides each gradient by its own scale, so the rounding differences of vmap's
        # batched matmuls in near-zero gradient entries grow to a fraction of a learning-rate
        # step: compare the whole update, not entry by entry.
        looped = ravel_pytree(params)[0] - flat_ref
        swept = flat_swept[i] - flat_ref
        assert float(jnp.linalg.norm(swept - looped)) < 5e-3 * float(jnp.linalg.norm(looped))
    # The betas really differ: one seed's two policies do not train alike.
    assert not np.allclose(swept_metrics["loss"][0], swept_metrics["loss"][1], rtol=1e-2)
