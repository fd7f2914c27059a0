"""`jaxrl rlhf frontier`: every RLHF method swept over seeds and KL coefficients (or DPO's beta),
each sweep one compiled program, with the over-optimisation curves and fitted laws of Gao,
Schulman & Hilton 2022.

    jaxrl rlhf frontier                      # 8 seeds, every method; minutes on a 2-core CPU
    jaxrl rlhf frontier --seeds 4 --methods ppo dpo --out runs/frontier
    jaxrl rlhf frontier --quick              # a tiny run of every stage (smoke checks)

One pretrained policy and one pool of labelled pairs serve every run. Two reward models are fitted
on nested subsets of the pool: `num_pairs` labels ("few") and `label_multiplier` times as many
("many"). Then, each a single `jax.vmap`ped program:

1. best-of-n by each reward model, n = 1..`max_n`, from one batch of reference samples per seed;
2. the over-optimisation run: PPO with no KL penalty against each reward model, seeds x reward
   models (Gao et al.'s RL setting, without the penalty that would hide the fall);
3. PPO, RLOO and GRPO against the "many" reward model, seeds x `kl_coefs`;
4. DPO with each loss in `dpo_losses` on the "many" pairs, seeds x `betas`.

Every final policy is evaluated on fresh samples (gold, proxy, KL). The laws are fitted to the
gold gain over the pretrained policy against d = sqrt(KL): best-of-n `d (alpha - beta d)` to the
best-of-n curves, RL `d (alpha - beta log d)` to the over-optimisation trajectories and to each
method's final policies, with percentile intervals from resampling seeds
(`scaling_laws.bootstrap_fit`). The run directory gets config.json, frontier.json, report.md,
overoptimisation.png and frontier.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl.checks import check_positive_ints
from jaxrl.cli.parser import ArgumentParser
from jaxrl.files import write_atomically, write_json
from jaxrl.rlhf import corpus, dpo, grpo, labeller, ppo, reward_model, rloo, scaling_laws
from jaxrl.rlhf.best_of_n import best_of_n
from jaxrl.rlhf.dpo import LOSS_TYPES, DPOConfig
from jaxrl.rlhf.evaluation import evaluate_policy
from jaxrl.rlhf.frontier_report import (
    fit_by_seed,
    moving_average,
    overoptimisation_by_seed,
    plot_frontier,
    plot_overoptimisation,
    report,
    sqrt_kl,
)
from jaxrl.rlhf.grpo import GRPOConfig
from jaxrl.rlhf.model import ModelConfig, generate_from
from jaxrl.rlhf.pipeline import Stage, fit_reward_model, pretrain_reference, run_command
from jaxrl.rlhf.ppo import RLHFPPOConfig
from jaxrl.rlhf.rloo import RLOOConfig
from jaxrl.rlhf.training import FitConfig

#: The methods `jaxrl rlhf frontier` can sweep, in the order they run.
METHODS = ("ppo", "rloo", "grpo", "dpo")
#: The two reward models: fitted on `num_pairs` labels and on `label_multiplier` times as many.
LABEL_BUDGETS = ("few", "many")
#: Per-iteration metrics kept from the RL runs.
CURVE_METRICS = ("gold", "proxy", "kl", "eos_rate")
#: Measured on every final policy (`evaluation.evaluate_policy`).
EVAL_METRICS = ("gold", "proxy", "kl", "eos_rate", "length")


@dataclasses.dataclass(frozen=True)
class FrontierConfig:
    """Every setting of a frontier run, validated before anything compiles.

    Attributes:
        seed: the seed everything derives from (the corpus included).
        num_seeds: seeds per setting; each sweep runs `num_seeds` x its grid in one program.
        model: the transformer's shape (policy, reward models, value networks).
        corpus_size: pretraining sentences (10% held out).
        pretrain: the language model's fit.
        num_pairs: labelled pairs of the "few" reward model; the "many" one gets
            `label_multiplier` times as many, the few's included.
        label_multiplier: the "many" reward model's labels over the "few"'s, >= 2.
        heldout_pairs: further pairs for the reward models' held-out accuracy and
            normalisation.
        label_temperature: the labeller's Bradley-Terry noise, gold units.
        reward: the reward models' fit.
        overoptimisation: PPO without a KL penalty (`kl_coef` must be 0), against each reward
            model.
        kl_coefs: the KL coefficients PPO, RLOO and GRPO are swept over (their configs'
            `kl_coef` is not read).
        ppo, rloo, grpo: the methods' settings (against the "many" reward model).
        betas: DPO's beta values (IPO's tau); `dpo.beta` is not read.
        dpo: DPO's fit, on the "many" pairs.
        dpo_losses: the DPO losses swept (`dpo.LOSS_TYPES`).
        conservative_smoothing: the label-flip probability of the "conservative" loss.
        methods: which of `METHODS` to sweep; best-of-n and the over-optimisation run always
            run.
        bon_samples: reference samples per seed for best-of-n (with prompts: `max_n` per
            prompt, `bon_samples / max_n` prompts).
        max_n: best-of-n's largest n.
        eval_samples: samples per final policy in its evaluation.
        smoothing: iterations in the centred moving average of the over-optimisation curves
            (each iteration is measured on its own `rollouts` samples), odd.
        min_rise, min_fall, proxy_tolerance: the over-optimisation criterion: a seed's smoothed
            gold rises at least `min_rise` above the pretrained policy's, and its last point
            lies at least `min_fall` below that peak (gold units) while its proxy has not fallen
            by more than `proxy_tolerance` (normalised units) from its value at the gold peak.
            A policy that has found the proxy's maximum holds it there while the gold falls;
            the report counts the seeds whose proxy strictly rose apart.
        prompt_len: words of every prompt (0: responses from BOS alone).
    """

    seed: int = 0
    num_seeds: int = 8
    model: ModelConfig = ModelConfig(d_model=32, num_heads=2)
    corpus_size: int = 20_000
    pretrain: FitConfig = FitConfig(steps=500, batch_size=64, learning_rate=3e-3)
    num_pairs: int = 256
    label_multiplier: int = 10
    heldout_pairs: int = 1024
    label_temperature: float = 1.0
    reward: FitConfig = FitConfig(steps=300, batch_size=64, learning_rate=1e-3)
    overoptimisation: RLHFPPOConfig = RLHFPPOConfig(
        iterations=100, rollouts=32, num_minibatches=2, learning_rate=1.5e-4, kl_coef=0.0
    )
    kl_coefs: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    ppo: RLHFPPOConfig = RLHFPPOConfig(iterations=40, rollouts=32, num_minibatches=2)
    rloo: RLOOConfig = RLOOConfig(iterations=40, rollouts=32, num_minibatches=2)
    grpo: GRPOConfig = GRPOConfig(iterations=40, rollouts=32, num_minibatches=2)
    betas: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    dpo: DPOConfig = DPOConfig(fit=FitConfig(steps=100, batch_size=32, learning_rate=5e-4))
    dpo_losses: tuple[str, ...] = LOSS_TYPES
    conservative_smoothing: float = 0.1
    methods: tuple[str, ...] = METHODS
    bon_samples: int = 4096
    max_n: int = 256
    eval_samples: int = 256
    smoothing: int = 5
    min_rise: float = 1.0
    min_fall: float = 1.0
    proxy_tolerance: float = 0.05
    prompt_len: int = 0

    def __post_init__(self):
        check_positive_ints(
            self,
            (
                "num_seeds",
                "corpus_size",
                "num_pairs",
                "label_multiplier",
                "heldout_pairs",
                "bon_samples",
                "max_n",
                "eval_samples",
                "smoothing",
            ),
        )
        if self.num_seeds < 2:
            raise ValueError(
                f"num_seeds={self.num_seeds}: the bootstrap intervals resample seeds; use >= 2."
            )
        if self.label_multiplier < 2:
            raise ValueError(f"label_multiplier={self.label_multiplier}: use >= 2, e.g. 10.")
        if self.smoothing % 2 == 0:
            raise ValueError(f"smoothing={self.smoothing}: use an odd window, e.g. 5.")
        if self.smoothing > self.overoptimisation.iterations:
            raise ValueError(
                f"smoothing={self.smoothing} exceeds the over-optimisation run's "
                f"{self.overoptimisation.iterations} iterations."
            )
        corpus.check_prompt_len(self.prompt_len)
        for name in ("overoptimisation", "ppo", "rloo", "grpo"):
            if getattr(self, name).prompt_len != self.prompt_len:
                raise ValueError(
                    f"{name}.prompt_len={getattr(self, name).prompt_len} differs from "
                    f"prompt_len={self.prompt_len}; give every method the same prompt length."
                )
        if self.overoptimisation.kl_coef != 0 or self.overoptimisation.kl_target is not None:
            raise ValueError(
                "overoptimisation: the over-optimisation run has no KL penalty; set kl_coef=0 "
                "and kl_target=None."
            )
        unknown = [method for method in self.methods if method not in METHODS]
        if unknown or not self.methods or len(set(self.methods)) != len(self.methods):
            raise ValueError(
                f"methods={self.methods!r}: choose distinct methods among {', '.join(METHODS)}."
            )
        for name, values in (("kl_coefs", self.kl_coefs), ("betas", self.betas)):
            if not values or not all(
                isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in values
            ):
                raise ValueError(f"{name}={values!r}: give one or more finite values >= 0.")
        if any(beta <= 0 for beta in self.betas):
            raise ValueError(f"betas={self.betas!r}: DPO's beta must be positive.")
        bad_losses = [loss for loss in self.dpo_losses if loss not in dpo.LOSS_TYPES]
        if bad_losses or not self.dpo_losses:
            raise ValueError(
                f"dpo_losses={self.dpo_losses!r}: choose among {', '.join(dpo.LOSS_TYPES)}."
            )
        if not 0 < self.conservative_smoothing < 0.5:
            raise ValueError(
                f"conservative_smoothing={self.conservative_smoothing}: a label-flip "
                "probability in (0, 0.5), e.g. 0.1."
            )
        if self.max_n > self.bon_samples:
            raise ValueError(f"max_n={self.max_n} exceeds bon_samples={self.bon_samples}.")
        if self.prompt_len and self.bon_samples % self.max_n:
            raise ValueError(
                f"bon_samples={self.bon_samples}: with prompts best-of-n draws max_n="
                f"{self.max_n} responses per prompt; use a multiple of max_n."
            )
        if self.model.vocab_size != corpus.VOCAB_SIZE or self.model.max_len < (
            corpus.LONGEST_SENTENCE
        ):
            raise ValueError(
                f"model: vocab_size must be {corpus.VOCAB_SIZE} and max_len >= "
                f"{corpus.LONGEST_SENTENCE} for the corpus."
            )
        if not (self.label_temperature > 0 and math.isfinite(self.label_temperature)):
            raise ValueError(f"label_temperature={self.label_temperature}: must be positive.")
        if not (self.min_rise > 0 and self.min_fall > 0 and self.proxy_tolerance >= 0):
            raise ValueError(
                "min_rise and min_fall must be positive gold units (e.g. 1) and "
                "proxy_tolerance non-negative (e.g. 0.05)."
            )

    @property
    def label_counts(self) -> dict[str, int]:
        """Training pairs of each reward model."""
        return {"few": self.num_pairs, "many": self.num_pairs * self.label_multiplier}

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def quick_config(seed: int = 0, num_seeds: int = 2) -> FrontierConfig:
    """A tiny run of every stage (tests, smoke checks): a minute or two, mostly compiling."""
    small_rl = dict(iterations=6, rollouts=8, num_minibatches=1, update_epochs=1)
    return FrontierConfig(
        seed=seed,
        num_seeds=num_seeds,
        model=ModelConfig(d_model=16, num_heads=2),
        corpus_size=1000,
        pretrain=FitConfig(steps=60, batch_size=32, learning_rate=3e-3),
        num_pairs=32,
        label_multiplier=2,
        heldout_pairs=64,
        reward=FitConfig(steps=20, batch_size=16, learning_rate=1e-3),
        overoptimisation=ppo.RLHFPPOConfig(kl_coef=0.0, **small_rl),
        kl_coefs=(0.03, 0.3),
        ppo=ppo.RLHFPPOConfig(**small_rl),
        rloo=rloo.RLOOConfig(k=4, **small_rl),
        grpo=grpo.GRPOConfig(k=4, **small_rl),
        betas=(0.1, 1.0),
        dpo=dpo.DPOConfig(fit=FitConfig(steps=5, batch_size=8, learning_rate=5e-4)),
        bon_samples=64,
        max_n=16,
        eval_samples=32,
        smoothing=3,
    )


# ---------------------------------------------------------------------------------------------
# The programs: each takes the seeds' keys (and a grid) and returns stacked numbers.


def _stack(trees: list[Any]) -> Any:
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def best_of_n_program(config: FrontierConfig):
    """`run(ref_params, reward_models [M], keys [S]) -> {"proxy", "gold", "kl": [S, M, K]}`:
    best-of-n by each of the M stacked reward models from `bon_samples` reference samples per
    seed, K = `max_n`.

    Every program of this module takes its parameters and data as arguments, not as constants
    closed over: XLA would otherwise fold them into the program and compile slowly."""
    mc = config.model
    groups = config.bon_samples // config.max_n if config.prompt_len else 1
    per_group = config.bon_samples // groups

    def one_seed(ref_params, reward_models, key):
        prompts = corpus.sample_prompts(corpus.prompt_key(key), groups, config.prompt_len)
        prompts = jnp.repeat(prompts, per_group, axis=0, total_repeat_length=groups * per_group)
        tokens = generate_from(mc, ref_params, key, prompts)
        gold = labeller.gold_score(tokens).reshape(groups, per_group)

        def by_model(rm):
            proxy = reward_model.reward(mc, rm, tokens).reshape(groups, per_group)
            curves = jax.vmap(lambda p, g: best_of_n(p, g, config.max_n))(proxy, gold)
            return curves.proxy.mean(0), curves.gold.mean(0), curves.kl[0]

        proxy, gold_bon, kl = jax.vmap(by_model)(reward_models)
        return {"proxy": proxy, "gold": gold_bon, "kl": kl}

    def run(ref_params, reward_models, keys):
        return jax.vmap(one_seed, in_axes=(None, None, 0))(ref_params, reward_models, keys)

    return run


def _curves(metrics: dict[str, jax.Array]) -> dict[str, jax.Array]:
    return {name: metrics[name] for name in CURVE_METRICS}


def _evaluate(config: FrontierConfig, policy_params, ref_params, rm, key, temperature=1.0):
    result = evaluate_policy(
        config.model,
        policy_params,
        ref_params,
        rm,
        key,
        config.eval_samples,
        temperature,
        prompt_len=config.prompt_len,
    )
    return {name: result[name] for name in EVAL_METRICS}


def overoptimisation_program(config: FrontierConfig):
    """`run(ref_params, reward_models [M], keys [S]) -> curves [M, S, iterations]`: PPO with no
    KL penalty against each reward model, every seed."""
    pc = config.overoptimisation

    def one_run(ref_params, rm, key):
        state = ppo.init_state(pc, ref_params, ppo.value_params_from_reward_model(rm))
        _, metrics = ppo.make_train(config.model, pc, ref_params, rm)(key, state)
        return _curves(metrics)

    def run(ref_params, reward_models, keys):
        over_seeds = jax.vmap(one_run, in_axes=(None, None, 0))
        return jax.vmap(over_seeds, in_axes=(None, 0, None))(ref_params, reward_models, keys)

    return run


def rl_sweep_program(config: FrontierConfig, method: str):
    """`run(ref_params, rm, keys [S], kl_coefs [C]) -> (curves [C, S, iterations], evaluation
    [C, S])`: the method trained from the reference against `rm` at every coefficient and seed,
    then evaluated."""
    mc = config.model
    method_config = getattr(config, method)

    def one_run(ref_params, rm, key, kl_coef):
        key_train, key_eval = jax.random.split(key)
        if method == "ppo":
            state = ppo.init_state(
                method_config, ref_params, ppo.value_params_from_reward_model(rm)
            )
            train = ppo.make_train(mc, method_config, ref_params, rm)
        else:
            module = rloo if method == "rloo" else grpo
            state = module.init_state(method_config, ref_params)
            train = module.make_train(mc, method_config, ref_params, rm)
        state, metrics = train(key_train, state.replace(kl_coef=jnp.float32(kl_coef)))
        evaluation = _evaluate(
            config, state.policy_params, ref_params, rm, key_eval, method_config.temperature
        )
        return _curves(metrics), evaluation

    def run(ref_params, rm, keys, kl_coefs):
        over_seeds = jax.vmap(one_run, in_axes=(None, None, 0, None))
        return jax.vmap(over_seeds, in_axes=(None, None, None, 0))(ref_params, rm, keys, kl_coefs)

    return run


def dpo_sweep_program(config: FrontierConfig, loss_type: str):
    """`run(ref_params, pairs, rm, keys [S], betas [C]) -> (final loss and accuracy [C, S],
    evaluation [C, S])`: DPO with `loss_type` on `pairs` at every beta and seed, evaluated with
    `rm` as the proxy."""
    smoothing = config.conservative_smoothing if loss_type == "conservative" else 0.0
    dpo_config = dataclasses.replace(config.dpo, loss_type=loss_type, label_smoothing=smoothing)
    train = dpo.make_train_dpo(config.model, dpo_config)

    def one_run(ref_params, pairs, rm, key, beta):
        key_train, key_eval = jax.random.split(key)
        params, metrics = train(ref_params, pairs, key_train, beta)
        fit = {"loss": metrics["loss"][-1], "accuracy": metrics["accuracy"][-1]}
        return fit, _evaluate(config, params, ref_params, rm, key_eval)

    def run(ref_params, pairs, rm, keys, betas):
        over_seeds = jax.vmap(one_run, in_axes=(None, None, None, 0, None))
        over_betas = jax.vmap(over_seeds, in_axes=(None, None, None, None, 0))
        return over_betas(ref_params, pairs, rm, keys, betas)

    return run


def _fit_summary(fit: scaling_laws.BootstrapFit | None) -> dict[str, Any] | None:
    if fit is None:
        return None
    return {
        **dataclasses.asdict(fit.fit),
        "level": fit.level,
        "alpha_interval": fit.alpha_interval,
        "beta_interval": fit.beta_interval,
        "peak_d_interval": fit.peak_d_interval,
        "peak_gain_interval": fit.peak_gain_interval,
        "num_resamples": fit.num_resamples,
        "num_fitted": fit.num_fitted,
        "num_with_peak": fit.num_with_peak,
    }


# ---------------------------------------------------------------------------------------------
# The run.


def _tolist(tree: Any) -> Any:
    return jax.tree.map(lambda x: np.asarray(x).tolist(), tree)


def run_frontier(config: FrontierConfig, out: Path) -> dict[str, Any]:
    """Runs every stage, prints as it goes and writes `out`; returns frontier.json's content."""
    mc = config.model
    start = time.perf_counter()
    timings: dict[str, float] = {}
    keys = dict(
        zip(
            ("pretrain", "pairs", "reward", "bon", "overopt", "sweeps"),
            jax.random.split(jax.random.key(config.seed), 6),
            strict=True,
        )
    )
    seed_keys = {
        name: jax.random.split(keys[name], config.num_seeds)
        for name in ("bon", "overopt", "sweeps")
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", config.to_json())
    runs = config.num_seeds * (
        len(LABEL_BUDGETS)
        + sum(len(config.kl_coefs) for m in config.methods if m != "dpo")
        + ("dpo" in config.methods) * len(config.betas) * len(config.dpo_losses)
    )
    # Pretraining, labelling, two reward models, best-of-n, over-optimisation, then the sweeps.
    programs = (
        6
        + sum(m != "dpo" for m in config.methods)
        + ("dpo" in config.methods) * len(config.dpo_losses)
    )
    print(
        f"RLHF frontier on {jax.devices()[0].platform}: a {mc.num_layers}-layer d={mc.d_model} "
        f"transformer; {config.num_seeds} seeds, {runs} training runs in {programs} programs; "
        f"writing {out}/",
        flush=True,
    )
    numbers = iter(range(1, 5 + len(config.methods)))

    def stage(name: str) -> Stage:
        return Stage(next(numbers), name, timings, total=4 + len(config.methods))

    result: dict[str, Any] = {}
    with stage("pretrain") as current:
        tokens = jnp.asarray(corpus.corpus_tokens(config.corpus_size, config.seed, mc.max_len))
        num_heldout = max(1, config.corpus_size // 10)
        ref_params, _, heldout_loss, _ = current.run(
            lambda *args: pretrain_reference(mc, config.pretrain, *args),
            keys["pretrain"],
            tokens[num_heldout:],
            tokens[:num_heldout],
        )
        print(f"      held-out LM loss {float(heldout_loss):.3f} nats/token")

    with stage("labels and reward models") as current:
        counts = config.label_counts
        pairs = current.run(
            lambda params, key: reward_model.make_preferences(
                mc,
                params,
                key,
                counts["many"] + config.heldout_pairs,
                config.label_temperature,
                prompt_len=config.prompt_len,
            ),
            ref_params,
            keys["pairs"],
        )
        train_pairs, heldout = pairs.split(counts["many"])
        models, accuracy = [], {}
        for budget in LABEL_BUDGETS:
            subset = jax.tree.map(lambda x, n=counts[budget]: x[:n], train_pairs)
            rm, _, acc = current.run(
                lambda *args: fit_reward_model(mc, config.reward, *args),
                ref_params,
                subset,
                heldout,
                keys["reward"],
            )
            models.append(rm)
            accuracy[budget] = {name: float(value) for name, value in acc.items()}
            print(
                f"      {budget:>4}: {counts[budget]:5d} labelled pairs, held-out accuracy "
                f"{accuracy[budget]['label_accuracy']:.1%} (labels), "
                f"{accuracy[budget]['gold_accuracy']:.1%} (gold order)"
            )
        reward_models = _stack(models)
        many = models[1]
        result["reward_models"] = {
            budget: {"pairs": counts[budget], **accuracy[budget]} for budget in LABEL_BUDGETS
        }

    with stage("best-of-n") as current:
        bon = jax.device_get(
            current.run(best_of_n_program(config), ref_params, reward_models, seed_keys["bon"])
        )
        pretrained_gold = float(np.mean(bon["gold"][:, 0, 0]))
        result["pretrained_gold"] = pretrained_gold
        result["best_of_n"] = {}
        for index, budget in enumerate(LABEL_BUDGETS):
            d = sqrt_kl(bon["kl"][:, index])
            gain = bon["gold"][:, index] - bon["gold"][:, index, :1]
            fit = fit_by_seed("bon", d, gain)
            result["best_of_n"][budget] = {
                "n": list(range(1, d.shape[1] + 1)),
                "d": d[0].tolist(),
                "gold": bon["gold"][:, index].tolist(),
                "proxy": bon["proxy"][:, index].tolist(),
                "fit": _fit_summary(fit),
            }
            best = int(np.argmax(bon["gold"][:, index].mean(0)))
            print(
                f"      {budget:>4} labels: gold {pretrained_gold:+.2f} at n=1, "
                f"{bon['gold'][:, index, best].mean():+.2f} at its best n={best + 1}, "
                f"{bon['gold'][:, index, -1].mean():+.2f} at n={config.max_n}; "
                + _describe_fit(fit)
            )

    with stage("over-optimisation (PPO, no KL penalty)") as current:
        curves = jax.device_get(
            current.run(
                overoptimisation_program(config), ref_params, reward_models, seed_keys["overopt"]
            )
        )
        result["overoptimisation"] = {}
        for index, budget in enumerate(LABEL_BUDGETS):
            gold, proxy, kl = (curves[name][index] for name in ("gold", "proxy", "kl"))
            verdict = overoptimisation_by_seed(
                gold,
                proxy,
                kl,
                pretrained_gold,
                window=config.smoothing,
                min_rise=config.min_rise,
                min_fall=config.min_fall,
                proxy_tolerance=config.proxy_tolerance,
            )
            smooth_d = sqrt_kl(moving_average(kl, config.smoothing))
            smooth_gain = moving_average(gold, config.smoothing) - pretrained_gold
            fit = fit_by_seed("rl", smooth_d, smooth_gain)
            result["overoptimisation"][budget] = {
                "curves": _tolist({name: curves[name][index] for name in CURVE_METRICS}),
                "by_seed": _tolist(verdict),
                "num_overoptimised": int(verdict["overoptimised"].sum()),
                "num_overoptimised_proxy_rose": int(
                    (verdict["overoptimised"] & verdict["proxy_rose"]).sum()
                ),
                "median_peak_d": float(np.median(verdict["peak_d"])),
                "fit": _fit_summary(fit),
            }
            print(
                f"      {budget:>4} labels: over-optimised on "
                f"{int(verdict['overoptimised'].sum())}/{config.num_seeds} seeds (gold "
                f"+{config.min_rise:g} then -{config.min_fall:g}, the proxy holding; on "
                f"{int((verdict['overoptimised'] & verdict['proxy_rose']).sum())} still "
                "rising); gold "
                f"peak at sqrt(KL) {np.median(verdict['peak_d']):.2f} (median), rise "
                f"{np.median(verdict['rise']):+.2f}, fall {np.median(verdict['fall']):.2f}; "
                + _describe_fit(fit)
            )
        few, many_peak = (result["overoptimisation"][b]["median_peak_d"] for b in LABEL_BUDGETS)
        result["peak_moves_right"] = bool(many_peak > few)
        print(
            f"      {config.label_multiplier}x the labels move the gold peak from sqrt(KL) "
            f"{few:.2f} to {many_peak:.2f}"
        )

    result["methods"] = {}
    coefs = jnp.asarray(config.kl_coefs, jnp.float32)
    for method in config.methods:
        if method == "dpo":
            continue
        with stage(f"{method.upper()} sweep: {len(config.kl_coefs)} KL coefficients") as current:
            curves, evaluation = jax.device_get(
                current.run(
                    rl_sweep_program(config, method), ref_params, many, seed_keys["sweeps"], coefs
                )
            )
            result["methods"][method] = _method_result(
                "kl_coef", config.kl_coefs, evaluation, pretrained_gold, curves=curves
            )
            _print_sweep("kl_coef", config.kl_coefs, evaluation, result["methods"][method])

    if "dpo" in config.methods:
        betas = jnp.asarray(config.betas, jnp.float32)
        with stage(
            f"DPO sweeps: {len(config.betas)} betas x {len(config.dpo_losses)} losses"
        ) as current:
            for loss_type in config.dpo_losses:
                fit_end, evaluation = jax.device_get(
                    current.run(
                        dpo_sweep_program(config, loss_type),
                        ref_params,
                        train_pairs,
                        many,
                        seed_keys["sweeps"],
                        betas,
                    )
                )
                name = f"dpo_{loss_type}"
                result["methods"][name] = _method_result(
                    "beta", config.betas, evaluation, pretrained_gold, fit_end=fit_end
                )
                print(f"      {loss_type}:")
                _print_sweep("beta", config.betas, evaluation, result["methods"][name])

    result["timings_s"] = timings
    result["wall_s"] = time.perf_counter() - start
    # Five significant digits: more than the report and plots read off any curve.
    write_json(out / "frontier.json", result, significant_digits=5)
    write_atomically(out / "report.md", report(config, result))
    plot_overoptimisation(out / "overoptimisation.png", config, result)
    plot_frontier(out / "frontier.png", config, result)
    print(
        f"total {result['wall_s']:.0f} s (compile included); wrote {out}/config.json, "
        "frontier.json, report.md, overoptimisation.png, frontier.png"
    )
    return result


def _method_result(
    grid_name: str,
    grid: tuple[float, ...],
    evaluation: dict[str, np.ndarray],
    pretrained_gold: float,
    *,
    curves: dict[str, np.ndarray] | None = None,
    fit_end: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    d = sqrt_kl(evaluation["kl"])  # [C, S]
    gain = evaluation["gold"] - pretrained_gold
    fit = fit_by_seed("rl", d.T, gain.T)
    entry: dict[str, Any] = {
        "grid": grid_name,
        "values": list(grid),
        "evaluation": _tolist(evaluation),
        "fit": _fit_summary(fit),
    }
    if curves is not None:
        entry["curves"] = _tolist(curves)
    if fit_end is not None:
        entry["final_fit_metrics"] = _tolist(fit_end)
    return entry


def _describe_fit(fit: scaling_laws.BootstrapFit | None) -> str:
    if fit is None:
        return "no law fitted (too few distinct KLs)"
    law = fit.fit
    text = f"law alpha {law.alpha:.2f}, beta {law.beta:.2f}, R^2 {law.r2:.2f}"
    if law.peak_d is not None:
        text += f", peak at sqrt(KL) {law.peak_d:.2f}"
        if fit.peak_d_interval is not None:
            low, high = fit.peak_d_interval
            text += f" ({fit.level:.0%} interval {low:.2f}-{high:.2f})"
    return text


def _print_sweep(grid_name: str, grid, evaluation, entry) -> None:
    for index, value in enumerate(grid):
        gold, proxy, kl = (np.asarray(evaluation[m][index]) for m in ("gold", "proxy", "kl"))
        print(
            f"      {grid_name} {value:<6g} gold {gold.mean():+.2f} +- {gold.std():.2f}   proxy "
            f"{proxy.mean():+.2f}   KL {kl.mean():6.2f}   (mean +- std over seeds)"
        )
    fit = entry["fit"]
    if fit is not None:
        print(f"      RL law over the final policies: R^2 {fit['r2']:.2f}")


# ---------------------------------------------------------------------------------------------
# The command.


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="jaxrl rlhf frontier",
        description="Every RLHF method over seeds x KL coefficients (DPO: betas), each sweep one "
        "program, with Gao et al.'s over-optimisation runs and fitted laws.",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="run directory (runs/rlhf-frontier-<time>)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    parser.add_argument("--seed", type=int, default=0, help="seed of everything (default 0)")
    parser.add_argument("--seeds", type=int, help="seeds per setting (default 8)")
    parser.add_argument("--quick", action="store_true", help="a tiny run of every stage")
    parser.add_argument(
        "--methods", nargs="+", metavar="METHOD", help=f"among {' '.join(METHODS)} (default all)"
    )
    parser.add_argument("--kl-coefs", nargs="+", type=float, help="PPO/RLOO/GRPO KL coefficients")
    parser.add_argument("--betas", nargs="+", type=float, help="DPO's beta values")
    parser.add_argument("--pairs", type=int, help="labels of the 'few' reward model (default 256)")
    parser.add_argument(
        "--prompt-len",
        type=int,
        help=f"words of every prompt, 0 (none, the default) to {corpus.MAX_PROMPT_LEN}",
    )
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> FrontierConfig:
    """The run's config: the default (or quick) one with the flags given; ValueError if bad."""
    if args.seed < 0:
        raise ValueError(f"--seed {args.seed}: use a non-negative integer.")
    config = quick_config(args.seed) if args.quick else FrontierConfig(seed=args.seed)
    changes: dict[str, Any] = {}
    if args.seeds is not None:
        changes["num_seeds"] = args.seeds
    if args.methods is not None:
        changes["methods"] = tuple(args.methods)
    if args.kl_coefs is not None:
        changes["kl_coefs"] = tuple(args.kl_coefs)
    if args.betas is not None:
        changes["betas"] = tuple(args.betas)
    if args.pairs is not None:
        changes["num_pairs"] = args.pairs
    if args.prompt_len is not None:
        changes["prompt_len"] = args.prompt_len
        for name in ("overoptimisation", "ppo", "rloo", "grpo"):
            changes[name] = dataclasses.replace(getattr(config, name), prompt_len=args.prompt_len)
    return dataclasses.replace(config, **changes)


def main(argv: list[str] | None = None) -> int:
    """`jaxrl rlhf frontier`: 0 on success, 2 on bad input."""
    return run_command(argv, parse_args, config_from_args, run_frontier, "rlhf-frontier")
