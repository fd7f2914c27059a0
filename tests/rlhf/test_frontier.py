"""`jaxrl rlhf frontier`: bad input fails fast with one line; the over-optimisation verdict and
the smoothing against hand-worked curves; best-of-n's program against its samples; a tiny run of
every stage writes a complete run directory."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.rlhf import frontier, frontier_report, labeller, reward_model
from jaxrl.rlhf.model import generate_from, init_language_model
from jaxrl.rlhf.reward_model import RewardModel


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seeds", "1"], "num_seeds=1: the bootstrap intervals resample seeds"),
        (["--seeds", "0"], "num_seeds=0"),
        (["--methods", "ppo", "sac"], "choose distinct methods among ppo, rloo, grpo, dpo"),
        (["--methods", "ppo", "ppo"], "choose distinct methods"),
        (["--kl-coefs", "-0.1"], "kl_coefs=(-0.1,)"),
        (["--kl-coefs", "nan"], "kl_coefs=(nan,)"),
        (["--betas", "0"], "DPO's beta must be positive"),
        (["--pairs", "0"], "num_pairs=0"),
        (["--prompt-len", "9"], "prompt_len=9"),
        (["--seed", "-1"], "--seed -1"),
        (["--seeds", "x"], "argument --seeds: invalid int value: 'x'"),
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert frontier.main(argv + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and message in err and err.count("\n") == 1
    assert not out.exists()


def test_the_rlhf_command_forwards_frontier(tmp_path, capsys):
    from jaxrl.rlhf import pipeline

    assert pipeline.main(["frontier", "--seeds", "1", "--out", str(tmp_path / "run")]) == 2
    assert "num_seeds=1" in capsys.readouterr().err


def test_an_existing_run_is_kept_unless_overwrite(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    assert frontier.main(["--out", str(run)]) == 2
    assert "already holds a run; add --overwrite" in capsys.readouterr().err
    assert (run / "config.json").read_text() == "{}"


def test_flags_reach_the_config():
    args = frontier.parse_args(
        ["--quick", "--seeds", "3", "--methods", "rloo", "dpo", "--kl-coefs", "0.1", "1"]
        + ["--betas", "0.5", "--pairs", "40", "--prompt-len", "1", "--seed", "7"]
    )
    config = frontier.config_from_args(args)
    assert (config.seed, config.num_seeds, config.methods) == (7, 3, ("rloo", "dpo"))
    assert (config.kl_coefs, config.betas, config.num_pairs) == ((0.1, 1.0), (0.5,), 40)
    assert config.prompt_len == 1
    assert {getattr(config, m).prompt_len for m in ("overoptimisation", "ppo", "rloo", "grpo")} == {
        1
    }
    assert config.label_counts == {"few": 40, "many": 80}


def test_config_rejects_a_kl_penalty_in_the_overoptimisation_run():
    with pytest.raises(ValueError, match="has no KL penalty"):
        frontier.FrontierConfig(
            overoptimisation=dataclasses.replace(
                frontier.FrontierConfig().overoptimisation, kl_coef=0.1
            )
        )


def test_moving_average_is_the_centred_mean_of_each_window():
    x = np.arange(12.0).reshape(2, 6) ** 2
    smooth = frontier_report.moving_average(x, 3)
    assert smooth.shape == (2, 4)
    expected = np.stack([[(row[i] + row[i + 1] + row[i + 2]) / 3 for i in range(4)] for row in x])
    np.testing.assert_allclose(smooth, expected)


def test_overoptimisation_verdict_on_hand_made_curves():
    # Seed 0: rises by 2, falls by 1.5 while the proxy rises: over-optimised.
    # Seed 1: rises by 2 and stays: no fall.
    # Seed 2: rises by 0.5 only.
    # Seed 3: rises and falls, but the proxy falls too (by 0.3 > tolerance).
    # Seed 4: rises and falls with the proxy flat at its maximum: over-optimised, proxy held.
    gold = np.array(
        [
            [0.0, 1.0, 2.0, 1.0, 0.5],
            [0.0, 1.0, 2.0, 2.0, 2.0],
            [0.0, 0.2, 0.5, 0.5, 0.5],
            [0.0, 1.0, 2.0, 1.0, 0.0],
            [0.0, 1.0, 2.0, 1.0, 0.0],
        ]
    )
    proxy = np.array(
        [
            [0.0, 0.5, 1.0, 1.2, 1.5],
            [0.0, 0.5, 1.0, 1.2, 1.5],
            [0.0, 0.5, 1.0, 1.2, 1.5],
            [0.0, 0.5, 1.0, 0.8, 0.7],
            [0.0, 0.5, 1.0, 1.0, 1.0],
        ]
    )
    kl = np.tile([0.0, 1.0, 4.0, 9.0, 16.0], (5, 1))
    verdict = frontier_report.overoptimisation_by_seed(
        gold, proxy, kl, 0.0, window=1, min_rise=1.0, min_fall=1.0, proxy_tolerance=0.05
    )
    np.testing.assert_array_equal(verdict["overoptimised"], [True, False, False, False, True])
    np.testing.assert_array_equal(verdict["proxy_rose"], [True, True, True, False, False])
    np.testing.assert_array_equal(verdict["peak_iteration"], [2, 2, 2, 2, 2])
    np.testing.assert_allclose(verdict["peak_d"], [2.0] * 5)
    np.testing.assert_allclose(verdict["rise"], [2.0, 2.0, 0.5, 2.0, 2.0])
    np.testing.assert_allclose(verdict["fall"], [1.5, 0.0, 0.0, 2.0, 2.0])
    np.testing.assert_allclose(verdict["proxy_gain_after_peak"], [0.5, 0.5, 0.5, -0.3, 0.0])


def test_overoptimisation_verdict_reads_smoothed_curves_and_clips_negative_kl():
    gold = np.array([[0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0]])  # one noisy spike
    proxy = np.linspace(0, 1, 7)[None]
    kl = np.array([[-0.3, -0.3, -0.3, 1.0, 1.0, 1.0, 1.0]])
    verdict = frontier_report.overoptimisation_by_seed(
        gold, proxy, kl, 0.0, window=3, min_rise=1.5, min_fall=0.5, proxy_tolerance=0.0
    )
    # Smoothed, the spike is a rise of 1 < 1.5: not over-optimised; the peak's KL reads as 0.
    np.testing.assert_allclose(verdict["rise"], [1.0])
    assert not verdict["overoptimised"][0]
    np.testing.assert_allclose(verdict["peak_d"], [0.0])


def test_fit_by_seed_needs_two_distinct_kls():
    assert frontier_report.fit_by_seed("rl", np.ones((3, 4)), np.ones((3, 4))) is None
    d = np.tile(np.linspace(0.1, 3, 10), (3, 1))
    fit = frontier_report.fit_by_seed("bon", d, d * (1.5 - 0.4 * d))
    np.testing.assert_allclose([fit.fit.alpha, fit.fit.beta], [1.5, 0.4], rtol=1e-6)


def test_best_of_n_program_matches_its_samples():
    """n = 1 is the samples' mean gold; two copies of one reward model give the same curves;
    its expected maximum never falls with n."""
    config = dataclasses.replace(frontier.quick_config(), bon_samples=64, max_n=64)
    mc = config.model
    params = init_language_model(mc, jax.random.key(0))
    head = jax.random.normal(jax.random.key(2), (config.model.d_model, 1))
    rm_params = {"body": params["body"], "scalar_head": {"kernel": head, "bias": jnp.zeros(1)}}
    rm = RewardModel(params=rm_params, gain=jnp.float32(1.0), bias=jnp.float32(0.0))
    models = frontier._stack([rm, rm])
    keys = jax.random.split(jax.random.key(1), 2)
    result = jax.jit(frontier.best_of_n_program(config))(params, models, keys)
    assert result["gold"].shape == (2, 2, config.max_n)
    np.testing.assert_array_equal(result["gold"][:, 0], result["gold"][:, 1])
    tokens = generate_from(mc, params, keys[0], jnp.zeros((config.bon_samples, 0), jnp.int32))
    np.testing.assert_allclose(
        result["gold"][0, 0, 0], labeller.gold_score(tokens).mean(), rtol=1e-5
    )
    proxy = reward_model.reward(mc, rm, tokens)
    np.testing.assert_allclose(result["proxy"][0, 0, 0], proxy.mean(), rtol=1e-5)
    # Best of all 64 samples is the largest proxy score, and the gold of that sample.
    np.testing.assert_allclose(result["proxy"][0, 0, -1], proxy.max(), rtol=1e-5)
    best = np.flatnonzero(proxy == proxy.max())[-1]  # ties: the later sample ranks higher
    np.testing.assert_allclose(result["gold"][0, 0, -1], labeller.gold_score(tokens)[best])
    assert np.all(np.diff(result["proxy"][0, 0]) >= -1e-5)


@pytest.mark.slow
def test_a_tiny_frontier_writes_every_file(tmp_path, capsys):
    config = dataclasses.replace(
        frontier.quick_config(), methods=("rloo", "dpo"), dpo_losses=("ipo",)
    )
    out = tmp_path / "run"
    result = frontier.run_frontier(config, out)
    printed = capsys.readouterr().out
    assert "over-optimised on" in printed and "RLOO sweep" in printed
    for name in (
        "config.json",
        "frontier.json",
        "report.md",
        "overoptimisation.png",
        "frontier.png",
    ):
        assert (out / name).stat().st_size > 0
    saved = json.loads((out / "frontier.json").read_text())
    assert set(saved["methods"]) == {"rloo", "dpo_ipo"}
    seeds, coefs = config.num_seeds, len(config.kl_coefs)
    rloo = saved["methods"]["rloo"]
    assert np.asarray(rloo["evaluation"]["gold"]).shape == (coefs, seeds)
    assert np.asarray(rloo["curves"]["kl"]).shape == (coefs, seeds, config.rloo.iterations)
    curves = saved["overoptimisation"]["few"]["curves"]
    assert np.asarray(curves["gold"]).shape == (seeds, config.overoptimisation.iterations)
    assert np.asarray(saved["best_of_n"]["many"]["gold"]).shape == (seeds, config.max_n)
    # frontier.json holds five significant digits.
    assert saved["pretrained_gold"] == float(f"{result['pretrained_gold']:.5g}")
    assert "### Over-optimisation" in (out / "report.md").read_text()
