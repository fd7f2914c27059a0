"""The whole RLHF chapter in one command: pretrain, label, reward model, PPO, DPO, evaluate.

    jaxrl rlhf                 # the default run, a few minutes on a 2-core CPU
    jaxrl rlhf --quick         # a small run, well under a minute
    jaxrl rlhf --out runs/mine --seed 3
    jaxrl rlhf --prompt-len 2  # every response answers a prompt such as "the food"
    jaxrl rlhf frontier        # every method over seeds x KL coefficients (jaxrl.rlhf.frontier)

Each stage is one compiled program. The command prints, per stage, its figures and its wall
time (compile included), then the table every RLHF paper has: for the pretrained, PPO and DPO
policies, the hidden labeller's score (gold), the reward model's score (proxy) and the KL to the
pretrained policy, all measured on fresh samples. The run directory (default
runs/rlhf-<time>/) gets config.json, metrics.json (per stage; per PPO iteration gold, proxy and
KL), reward_vs_kl.png and samples.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl.checks import check_positive_ints
from jaxrl.cli.parser import ArgumentParser
from jaxrl.compilation import compile_program
from jaxrl.files import write_atomically, write_json
from jaxrl.rlhf import corpus, dpo, labeller, ppo, reward_model
from jaxrl.rlhf.evaluation import evaluate_policy
from jaxrl.rlhf.model import ModelConfig, init_language_model
from jaxrl.rlhf.pretrain import lm_loss, pretrain
from jaxrl.rlhf.training import FitConfig, mean_in_chunks


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Every setting of a run, validated before anything compiles.

    Attributes:
        seed: the one seed every stage's randomness derives from (corpus included).
        model: the transformer's shape, shared by the policy, reward model and value network.
        corpus_size: sentences generated for pretraining (10% held out for the LM loss).
        pretrain: the language model's fit.
        num_pairs: preference pairs sampled from the pretrained model and labelled.
        heldout_fraction: share of the pairs kept out of reward-model and DPO training.
        label_temperature: the labeller's Bradley-Terry noise scale, in gold units.
        reward: the reward model's fit.
        ppo: RLHF-PPO settings.
        dpo: DPO settings.
        eval_samples: samples per policy in the final evaluation.
        shown_samples: generations per policy written to samples.md.
        prompt_len: words of the prompt every response answers (`corpus.sample_prompts`, e.g.
            2 for "the food"), in the preference pairs, PPO and the evaluation alike; 0, the
            default, samples from BOS alone. `ppo.prompt_len` must equal it.
    """

    seed: int = 0
    model: ModelConfig = ModelConfig()
    corpus_size: int = 20_000
    pretrain: FitConfig = FitConfig(steps=500, batch_size=64, learning_rate=3e-3)
    num_pairs: int = 4096
    heldout_fraction: float = 0.2
    label_temperature: float = 1.0
    reward: FitConfig = FitConfig(steps=400, batch_size=64, learning_rate=1e-3)
    ppo: ppo.RLHFPPOConfig = ppo.RLHFPPOConfig(iterations=40, learning_rate=1.5e-4)
    dpo: dpo.DPOConfig = dpo.DPOConfig(fit=FitConfig(steps=250, batch_size=64, learning_rate=5e-4))
    eval_samples: int = 512
    shown_samples: int = 6
    prompt_len: int = 0

    def __post_init__(self):
        corpus.check_prompt_len(self.prompt_len)
        if self.ppo.prompt_len != self.prompt_len:
            raise ValueError(
                f"ppo.prompt_len={self.ppo.prompt_len} differs from prompt_len="
                f"{self.prompt_len}; give both the same prompt length (--prompt-len sets both)."
            )
        check_positive_ints(self, ("corpus_size", "num_pairs", "eval_samples", "shown_samples"))
        if self.corpus_size < 10:
            raise ValueError(f"corpus_size={self.corpus_size}: need at least 10 sentences.")
        if self.model.max_len < corpus.LONGEST_SENTENCE:
            raise ValueError(
                f"max_len={self.model.max_len}: the corpus' longest review needs "
                f"{corpus.LONGEST_SENTENCE} tokens; use max_len >= {corpus.LONGEST_SENTENCE}."
            )
        if self.model.vocab_size != corpus.VOCAB_SIZE:
            raise ValueError(
                f"model.vocab_size={self.model.vocab_size}: the corpus has "
                f"{corpus.VOCAB_SIZE} tokens."
            )
        if not 0 < self.heldout_fraction < 1:
            raise ValueError(f"heldout_fraction={self.heldout_fraction}: must be in (0, 1).")
        if self.num_train_pairs < 1 or self.num_pairs - self.num_train_pairs < 1:
            raise ValueError(
                f"num_pairs={self.num_pairs} with heldout_fraction={self.heldout_fraction} "
                "leaves no training or no held-out pair; raise num_pairs."
            )
        if not (self.label_temperature > 0 and math.isfinite(self.label_temperature)):
            raise ValueError(
                f"label_temperature={self.label_temperature}: must be positive, e.g. 1."
            )
        if self.shown_samples > self.eval_samples:
            raise ValueError(
                f"shown_samples={self.shown_samples} exceeds eval_samples={self.eval_samples}."
            )

    @property
    def num_train_pairs(self) -> int:
        return int(round(self.num_pairs * (1 - self.heldout_fraction)))

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def quick_config(seed: int = 0) -> PipelineConfig:
    """A small run of every stage (tests, smoke checks): seconds of compute after compiling."""
    return PipelineConfig(
        seed=seed,
        model=ModelConfig(d_model=32, num_heads=2),
        corpus_size=4000,
        pretrain=FitConfig(steps=300, batch_size=64, learning_rate=3e-3),
        num_pairs=1024,
        reward=FitConfig(steps=200, batch_size=64, learning_rate=1e-3),
        ppo=ppo.RLHFPPOConfig(iterations=15, rollouts=32, num_minibatches=2),
        dpo=dpo.DPOConfig(fit=FitConfig(steps=100, batch_size=32, learning_rate=3e-4)),
        eval_samples=256,
    )


class Stage:
    """Times a stage (compile plus run) and prints its header and figures."""

    def __init__(self, number: int, name: str, timings: dict[str, float], total: int = 6):
        self.label = f"[{number}/{total}] {name}"
        self.name = name
        self.timings = timings
        self.compile_s = 0.0

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Compiles `fn` for `args` (CPU fast-compile options) and runs it to completion."""
        compiled = self.compile(fn, *args)
        return jax.block_until_ready(compiled(*args))

    def compile(self, fn: Callable[..., Any], *args: Any) -> Callable[..., Any]:
        compiled, times = compile_program(fn, *args)
        self.compile_s += times.trace_s + times.compile_s
        return compiled

    def __enter__(self) -> Stage:
        self.start = time.perf_counter()
        print(self.label, flush=True)
        return self

    def __exit__(self, *exc_info) -> None:
        self.timings[self.name] = time.perf_counter() - self.start
        if exc_info[0] is None:
            print(
                f"      ({self.timings[self.name]:.1f} s, of which tracing and compiling "
                f"{self.compile_s:.1f} s)",
                flush=True,
            )


def pretrain_reference(
    model_config: ModelConfig,
    fit_config: FitConfig,
    key: jax.Array,
    train_tokens: jax.Array,
    heldout_tokens: jax.Array,
) -> tuple[dict, dict[str, jax.Array], jax.Array, jax.Array]:
    """Stage 1: the pretrained (reference) language model from a fresh initialisation.

    Returns:
        Its parameters, the per-step fit metrics, and the held-out LM loss (nats per token)
        and next-token accuracy.
    """
    key_init, key_fit = jax.random.split(key)
    params = init_language_model(model_config, key_init)
    params, fit_metrics = pretrain(model_config, fit_config, params, key_fit, train_tokens)
    heldout_loss, heldout = lm_loss(model_config, params, heldout_tokens)
    return params, fit_metrics, heldout_loss, heldout["accuracy"]


def fit_reward_model(
    model_config: ModelConfig,
    fit_config: FitConfig,
    ref_params: dict,
    train_pairs: reward_model.Preferences,
    heldout_pairs: reward_model.Preferences,
    key: jax.Array,
) -> tuple[reward_model.RewardModel, dict[str, jax.Array], dict[str, jax.Array]]:
    """Stage 3: a reward model fitted from the reference on `train_pairs`, normalised.

    Returns:
        The normalised reward model, the per-step fit metrics and its held-out accuracies
        ("label_accuracy", "gold_accuracy").
    """
    params, fit_metrics = reward_model.train_reward_model(
        model_config, fit_config, ref_params, train_pairs, key
    )
    accuracy = reward_model.preference_accuracy(model_config, params, heldout_pairs)
    # Both sides of the held-out pairs together are plain samples of the pretrained policy:
    # the normalisation's reference, without sampling again.
    samples = jnp.concatenate([heldout_pairs.chosen, heldout_pairs.rejected])
    return reward_model.normalise(model_config, params, samples), fit_metrics, accuracy


def _floats(tree: dict[str, Any]) -> dict[str, Any]:
    return {name: np.asarray(value).tolist() for name, value in tree.items()}


def run_pipeline(config: PipelineConfig, out: Path) -> dict[str, Any]:
    """Runs the five stages and the evaluation, prints as it goes and writes `out`.

    Returns:
        The metrics written to metrics.json.
    """
    mc = config.model
    key = jax.random.key(config.seed)
    keys = dict(
        zip(
            ("pretrain", "pairs", "reward", "ppo", "dpo", "eval"),
            jax.random.split(key, 6),
            strict=True,
        )
    )
    timings: dict[str, float] = {}
    metrics: dict[str, Any] = {}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", config.to_json())
    print(
        f"RLHF on {jax.devices()[0].platform}: a {mc.num_layers}-layer d={mc.d_model} "
        f"transformer, vocab {mc.vocab_size}, {mc.max_len} tokens; seed {config.seed}; "
        f"writing {out}/",
        flush=True,
    )
    if config.prompt_len:
        print(
            f"prompts: every response answers the first {config.prompt_len} word(s) of a "
            "review, drawn as the grammar opens one; the whole review is scored",
            flush=True,
        )

    with Stage(1, "pretrain", timings) as stage:
        tokens = jnp.asarray(corpus.corpus_tokens(config.corpus_size, config.seed, mc.max_len))
        num_heldout = max(1, config.corpus_size // 10)
        train_tokens, heldout_tokens = tokens[num_heldout:], tokens[:num_heldout]

        ref_params, fit_metrics, heldout_loss, heldout_accuracy = stage.run(
            lambda *args: pretrain_reference(mc, config.pretrain, *args),
            keys["pretrain"],
            train_tokens,
            heldout_tokens,
        )
        curve = mean_in_chunks(fit_metrics, 20)
        metrics["pretrain"] = {
            "loss_curve": curve["loss"],
            "train_loss": curve["loss"][-1],
            "heldout_loss": float(heldout_loss),
            "heldout_accuracy": float(heldout_accuracy),
        }
        print(
            f"      LM loss {curve['loss'][0]:.3f} -> {curve['loss'][-1]:.3f} nats/token "
            f"(held out {float(heldout_loss):.3f}, next-token accuracy "
            f"{float(heldout_accuracy):.1%})"
        )

    with Stage(2, "preferences", timings) as stage:
        pairs = stage.run(
            lambda params, key: reward_model.make_preferences(
                mc,
                params,
                key,
                config.num_pairs,
                config.label_temperature,
                prompt_len=config.prompt_len,
            ),
            ref_params,
            keys["pairs"],
        )
        train_pairs, heldout_pairs = pairs.split(config.num_train_pairs)
        gold_margin = np.asarray(pairs.gold_chosen - pairs.gold_rejected)
        agreement = float(np.mean(gold_margin[gold_margin != 0] > 0))
        metrics["preferences"] = {
            "num_train": config.num_train_pairs,
            "num_heldout": config.num_pairs - config.num_train_pairs,
            "label_agrees_with_gold": agreement,
        }
        print(
            f"      {config.num_pairs} pairs from the pretrained model, labelled by the hidden "
            f"labeller (Bradley-Terry, temperature {config.label_temperature}); the label "
            f"agrees with the gold order on {agreement:.1%}"
        )

    with Stage(3, "reward model", timings) as stage:
        rm, fit_metrics, accuracy = stage.run(
            lambda *args: fit_reward_model(mc, config.reward, *args),
            ref_params,
            train_pairs,
            heldout_pairs,
            keys["reward"],
        )
        curve = mean_in_chunks(fit_metrics, 20)
        metrics["reward_model"] = {
            "loss_curve": curve["loss"],
            "train_accuracy": curve["accuracy"][-1],
            "heldout_label_accuracy": float(accuracy["label_accuracy"]),
            "heldout_gold_accuracy": float(accuracy["gold_accuracy"]),
        }
        print(
            f"      BT loss {curve['loss'][0]:.3f} -> {curve['loss'][-1]:.3f}; held-out "
            f"accuracy {float(accuracy['label_accuracy']):.1%} against the noisy labels, "
            f"{float(accuracy['gold_accuracy']):.1%} against the gold order"
        )

    with Stage(4, "PPO", timings) as stage:
        pc = config.ppo
        state = ppo.init_state(pc, ref_params, ppo.value_params_from_reward_model(rm))
        train = ppo.make_train(mc, pc, ref_params, rm)
        compiled = stage.compile(train, keys["ppo"], state)
        run_start = time.perf_counter()
        ppo_state, ppo_metrics = jax.block_until_ready(compiled(keys["ppo"], state))
        run_s = time.perf_counter() - run_start
        ppo_metrics = _floats(ppo_metrics)
        tokens_per_s = pc.iterations * pc.rollouts * (mc.max_len - 1 - config.prompt_len) / run_s
        metrics["ppo"] = {"per_iteration": ppo_metrics, "run_s": run_s}
        for i in sorted(
            {0, pc.iterations // 4, pc.iterations // 2, 3 * pc.iterations // 4, pc.iterations - 1}
        ):
            print(
                f"      iteration {i + 1:3d}: gold {ppo_metrics['gold'][i]:+.2f}  proxy "
                f"{ppo_metrics['proxy'][i]:+.2f}  KL {ppo_metrics['kl'][i]:.2f}  "
                f"kl_coef {ppo_metrics['kl_coef'][i]:.3f}  EOS {ppo_metrics['eos_rate'][i]:.0%}"
            )
        print(
            f"      {pc.iterations} iterations x {pc.rollouts} sequences in {run_s:.1f} s "
            f"({tokens_per_s:,.0f} sampled tokens/s through generation, scoring and updates)"
        )

    with Stage(5, "DPO", timings) as stage:
        dpo_params, fit_metrics = stage.run(
            lambda ref_params, pairs, key: dpo.train_dpo(mc, config.dpo, ref_params, pairs, key),
            ref_params,
            train_pairs,
            keys["dpo"],
        )
        curve = mean_in_chunks(fit_metrics, 20)
        metrics["dpo"] = {
            "loss_curve": curve["loss"],
            "train_accuracy": curve["accuracy"][-1],
        }
        print(
            f"      DPO loss {curve['loss'][0]:.3f} -> {curve['loss'][-1]:.3f}, implicit-reward "
            f"accuracy on its training pairs {curve['accuracy'][-1]:.1%}"
        )

    with Stage(6, "evaluation", timings) as stage:
        evaluate = stage.compile(
            lambda params, key: evaluate_policy(
                mc, params, ref_params, rm, key, config.eval_samples, prompt_len=config.prompt_len
            ),
            ref_params,
            keys["eval"],
        )
        policies = {"pretrained": ref_params, "PPO": ppo_state.policy_params, "DPO": dpo_params}
        results = {
            name: jax.device_get(evaluate(params, keys["eval"]))
            for name, params in policies.items()
        }
        pretrained_gold = np.asarray(labeller.gold_score(results["pretrained"]["tokens"]))
        metrics["evaluation"] = {
            name: {k: float(v) for k, v in result.items() if k != "tokens"}
            for name, result in results.items()
        }
        print(f"      {config.eval_samples} samples per policy, the same key for each")
        print("      policy       gold    proxy    KL (nats)   EOS   length")
        for name, result in results.items():
            print(
                f"      {name:<10} {float(result['gold']):+6.2f}  {float(result['proxy']):+6.2f}"
                f"  {float(result['kl']):9.2f}  {float(result['eos_rate']):5.0%}"
                f"  {float(result['length']):6.1f}"
            )

    metrics["timings_s"] = timings
    metrics["gold_standardisation"] = {
        "pretrained_mean": float(pretrained_gold.mean()),
        "pretrained_std": float(pretrained_gold.std()),
    }
    write_json(out / "metrics.json", metrics)
    write_samples(out / "samples.md", results, config.shown_samples, config.prompt_len)
    plot_reward_vs_kl(out / "reward_vs_kl.png", metrics)
    total = sum(timings.values())
    print(
        "stage times (s, compile included, machine shared): "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in timings.items())
        + f"; total {total:.1f}"
    )
    print(f"wrote {out}/config.json, metrics.json, reward_vs_kl.png, samples.md")
    return metrics


def write_samples(
    path: Path, results: dict[str, dict[str, Any]], count: int, prompt_len: int = 0
) -> None:
    """A few generations per policy with their gold scores, as Markdown (written atomically).

    With prompts each line shows the prompt, " | ", then the policy's response.
    """
    lines = ["# Sample generations", ""]
    lines.append("Gold = the hidden labeller's score; `...` marks a review cut off without EOS.")
    if prompt_len:
        lines.append("Each review is `prompt | response`; the gold score is of the whole review.")
    for name, result in results.items():
        tokens = np.asarray(result["tokens"])[:count]
        lines += ["", f"## {name} (mean gold {float(result['gold']):+.2f})", ""]
        for row in tokens:
            text = corpus.decode(row)
            gold = labeller.reference_gold_score(text)
            if prompt_len:
                words = text.split()
                text = " ".join(words[:prompt_len]) + " | " + " ".join(words[prompt_len:])
            lines.append(f"- `{text}` (gold {gold:+.2f})")
    write_atomically(path, "\n".join(lines) + "\n")


def plot_reward_vs_kl(path: Path, metrics: dict[str, Any]) -> None:
    """Gold and proxy reward against KL over PPO training (the over-optimisation picture), with
    the DPO policy's point, on one standardised scale; written atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_iteration = metrics["ppo"]["per_iteration"]
    mean = metrics["gold_standardisation"]["pretrained_mean"]
    std = metrics["gold_standardisation"]["pretrained_std"] or 1.0
    kl = np.asarray(per_iteration["kl"])
    gold = (np.asarray(per_iteration["gold"]) - mean) / std
    proxy = np.asarray(per_iteration["proxy"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    # Points in training order, joined faintly: the policy's path through (KL, reward).
    left.plot(kl, proxy, "-", lw=0.6, alpha=0.4, color="tab:orange")
    left.plot(kl, gold, "-", lw=0.6, alpha=0.4, color="tab:blue")
    left.plot(
        kl, proxy, "o", ms=3.5, color="tab:orange", label="proxy (reward model), per iteration"
    )
    left.plot(
        kl, gold, "o", ms=3.5, color="tab:blue", label="gold (hidden labeller), per iteration"
    )
    evaluation = metrics["evaluation"]
    # Large, filled and edged in black: the PPO point usually sits inside the cloud of its
    # iterations.
    for name, marker in (("DPO", "s"), ("PPO", "*")):
        point = evaluation[name]
        left.plot(
            point["kl"],
            (point["gold"] - mean) / std,
            marker,
            mfc="tab:blue",
            mec="black",
            ms=13,
            mew=1.2,
            zorder=5,
            label=f"{name} gold (evaluation)",
        )
        left.plot(
            point["kl"],
            point["proxy"],
            marker,
            mfc="tab:orange",
            mec="black",
            ms=13,
            mew=1.2,
            zorder=5,
            label=f"{name} proxy (evaluation)",
        )
    left.axhline(0.0, color="grey", lw=0.8)
    left.set_xlabel("KL(policy || pretrained), nats per sequence")
    left.set_ylabel("reward, in std of the pretrained policy's")
    left.set_title("PPO: gold and proxy reward against KL")
    left.legend(fontsize=7)
    iterations = np.arange(1, kl.size + 1)
    right.plot(iterations, gold, color="tab:blue", label="gold")
    right.plot(iterations, proxy, color="tab:orange", label="proxy")
    right.plot(iterations, kl, color="tab:green", label="KL (nats)")
    right.set_xlabel("PPO iteration")
    right.set_title("over training")
    right.legend(fontsize=8)
    fig.tight_layout()
    temporary = path.with_name(path.name + ".tmp.png")
    fig.savefig(temporary, dpi=110)
    plt.close(fig)
    os.replace(temporary, path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="jaxrl rlhf",
        description=__doc__.splitlines()[0],
        epilog="`jaxrl rlhf frontier --help`: every method over seeds x KL coefficients.",
    )
    parser.add_argument("--out", type=Path, default=None, help="run directory (runs/rlhf-<time>)")
    parser.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    parser.add_argument("--seed", type=int, default=0, help="seed of every stage (default 0)")
    parser.add_argument("--quick", action="store_true", help="a small run of every stage")
    parser.add_argument("--pretrain-steps", type=int, help="language-model Adam steps")
    parser.add_argument("--pairs", type=int, help="preference pairs to label")
    parser.add_argument("--ppo-iterations", type=int, help="PPO rollout-and-update rounds")
    parser.add_argument("--rollouts", type=int, help="sequences per PPO iteration")
    parser.add_argument("--kl-coef", type=float, help="PPO's KL penalty coefficient")
    parser.add_argument(
        "--kl-target", type=float, help="adapt the KL coefficient to this KL (nats/sequence)"
    )
    parser.add_argument("--dpo-beta", type=float, help="DPO's beta")
    parser.add_argument("--d-model", type=int, help="transformer width")
    parser.add_argument("--layers", type=int, help="transformer blocks")
    parser.add_argument(
        "--prompt-len",
        type=int,
        help=f"words of the prompt each response answers, 0 (none, the default) to "
        f"{corpus.MAX_PROMPT_LEN}; 2 prompts e.g. 'the food'",
    )
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> PipelineConfig:
    """The run's config: the default (or quick) one with the flags given; ValueError if bad."""
    config = quick_config(args.seed) if args.quick else PipelineConfig(seed=args.seed)
    if args.seed < 0:
        raise ValueError(f"--seed {args.seed}: use a non-negative integer.")
    model_changes = {}
    if args.d_model is not None:
        model_changes["d_model"] = args.d_model
    if args.layers is not None:
        model_changes["num_layers"] = args.layers
    ppo_changes = {}
    if args.ppo_iterations is not None:
        ppo_changes["iterations"] = args.ppo_iterations
    if args.rollouts is not None:
        ppo_changes["rollouts"] = args.rollouts
    if args.kl_coef is not None:
        ppo_changes["kl_coef"] = args.kl_coef
    if args.kl_target is not None:
        ppo_changes["kl_target"] = args.kl_target
    changes: dict[str, Any] = {}
    if args.prompt_len is not None:
        ppo_changes["prompt_len"] = args.prompt_len
        changes["prompt_len"] = args.prompt_len
    if model_changes:
        changes["model"] = dataclasses.replace(config.model, **model_changes)
    if ppo_changes:
        changes["ppo"] = dataclasses.replace(config.ppo, **ppo_changes)
    if args.pretrain_steps is not None:
        changes["pretrain"] = dataclasses.replace(config.pretrain, steps=args.pretrain_steps)
    if args.pairs is not None:
        changes["num_pairs"] = args.pairs
    if args.dpo_beta is not None:
        changes["dpo"] = dataclasses.replace(config.dpo, beta=args.dpo_beta)
    return dataclasses.replace(config, **changes)


def run_command(
    argv: list[str] | None,
    parse_args: Callable[[list[str] | None], argparse.Namespace],
    config_from_args: Callable[[argparse.Namespace], Any],
    run: Callable[[Any, Path], Any],
    run_name: str,
) -> int:
    """The shape of `jaxrl rlhf` and `jaxrl rlhf frontier`: parse the flags, build and validate
    the config, check `--out` (default `runs/<run_name>-<time>/`), then run; 0 on success, 2 on
    bad input, which is one line on stderr before anything compiles or is written."""
    try:
        args = parse_args(argv)
    except SystemExit as exit:  # --help (0) or a malformed flag (2): a status, not an exception
        return exit.code if isinstance(exit.code, int) else 2
    try:
        config = config_from_args(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or Path("runs") / f"{run_name}-{stamp}"
    if out.exists() and not out.is_dir():
        print(f"error: --out {out} is a file; give a directory.", file=sys.stderr)
        return 2
    if out.is_dir() and (out / "config.json").exists() and not args.overwrite:
        print(
            f"error: --out {out} already holds a run; add --overwrite to replace it, or choose "
            "another --out.",
            file=sys.stderr,
        )
        return 2
    run(config, out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`jaxrl rlhf`: 0 on success, 2 on bad input."""
    if argv and argv[0] == "frontier":
        from jaxrl.rlhf import frontier

        return frontier.main(argv[1:])
    return run_command(argv, parse_args, config_from_args, run_pipeline, "rlhf")
