"""How fast each RLHF stage runs, in episodes, pairs or tokens per second, and the share of the
machine's own matmul throughput that is (model FLOPs utilisation, MFU).

Every figure is one compiled program, called once to warm up, then timed until its outputs are
ready (`jaxrl.bench.harness.alternate`: the figures take turns in each of `repeats` rounds, so a
burst of load from another process hits them alike); the figure is the median round. Compile
time (trace and XLA compile) is reported apart. Weights are random: the programs' shapes, not
their values, set the time (every sequence is `max_len` long whatever it holds).

- `ppo_{R}x{E}`: one iteration of `ppo.make_train` (`iterations=1`, `rollouts=R`,
  `update_epochs=E`, one minibatch): sample R sequences, score them with the policy, the
  reference, the value network and the reward model, GAE, E Adam steps of the policy and the
  value network. Episodes per second = R / seconds.
- `rloo_{R}`, `grpo_{R}`: one iteration of `rloo.make_train` / `grpo.make_train` with R
  rollouts in groups of `group_size`, one epoch of one minibatch (TRL's `num_iterations=1`).
- `dpo_{P}`: one step of `dpo.make_train_dpo` on P pairs (the reference's log-probabilities of
  the P pairs and one AdamW step of the policy on them, as TRL's DPOTrainer computes the
  reference each step). Pairs per second.
- `reward_model_{P}`: one Bradley-Terry step of `reward_model.train_reward_model` on P pairs.
- `generate_{B}`: `model.generate` of B sequences; tokens per second = B * (max_len - 1).
- `matmul_model`, `matmul_square`: float32 products `[256 * max_len, d] x [d, 4 d]` (the MLP's
  shape at batch 256) and `[n, n] x [n, n]`; the larger rate is the machine's peak.

FLOPs are counted from the model's shape, not measured, after Kaplan et al. 2020 (table 1):
a forward pass costs, per token,

    f = 2 N + 2 n_layers L d_model

where N is the parameters that multiply (every parameter but the token and position
embeddings: the blocks, the final LayerNorm and the head, `V` outputs for the language model,
1 for the value and reward models) and the second term the attention scores against the L =
`max_len` positions every token attends to (the implementation scores all of them and masks
the later ones, in training and in the KV-cached sampler alike). A backward pass costs 2 f, so
a training step 3 f, per token. With T = L - 1 sampled tokens per sequence, f_lm and f_s the
language and scalar models' f:

    generation of B sequences      B T f_lm
    PPO iteration, R x E           R (T f_lm + L (2 f_lm + 2 f_s) + 3 E L (f_lm + f_s))
    RLOO / GRPO iteration, R       R (T f_lm + L (2 f_lm + f_s) + 3 E L f_lm)
    DPO step, P pairs              2 P L (f_lm + 3 f_lm)
    reward-model step, P pairs     2 P L 3 f_s

(a scoring pass reads the policy and reference, PPO's value network too, and the reward
model; the update trains the policy, PPO's value network too). Element-wise work (LayerNorm,
softmax, GELU, Adam) is left out, so MFU is a lower bound on how busy the machine is.
Achieved GFLOP/s = counted FLOPs / median seconds; MFU = achieved / peak matmul GFLOP/s.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl.bench import harness
from jaxrl.compilation import PARALLEL_TASKS_MIN_ENVS, CompileOptions, compile_program
from jaxrl.rlhf import corpus, dpo, grpo, ppo, reward_model, rloo
from jaxrl.rlhf.model import ModelConfig, generate, init_language_model, scalar_params_from
from jaxrl.rlhf.training import FitConfig

#: TRL's example shape: 2 layers, width 128, 4 heads (about 400k parameters), 24 sampled tokens.
TRL_MODEL = ModelConfig(
    vocab_size=corpus.VOCAB_SIZE, max_len=25, d_model=128, num_layers=2, num_heads=4
)
#: A model small enough that every figure compiles in seconds (CI; figures not comparable).
QUICK_MODEL = ModelConfig(
    vocab_size=corpus.VOCAB_SIZE, max_len=8, d_model=32, num_layers=1, num_heads=2
)
#: The unit of each kind of figure.
UNITS = {
    "ppo": "episodes/s",
    "rloo": "episodes/s",
    "grpo": "episodes/s",
    "dpo": "pairs/s",
    "reward_model": "pairs/s",
    "generate": "tokens/s",
}
#: The MLP's shape is measured at this many sequences (the largest default batch).
MATMUL_MODEL_BATCH = 256


@dataclasses.dataclass(frozen=True)
class Workload:
    """What `measure` times.

    Attributes:
        model: the transformer's shape (policy, reference, value and reward model alike).
        ppo: (rollouts, update_epochs) of each PPO figure.
        group_rollouts: rollouts of each RLOO and GRPO figure.
        group_size: samples per prompt of RLOO and GRPO (TRL's `num_generations`).
        pairs: preference pairs per DPO and reward-model step.
        generation_batches: sequences sampled at once, one figure each.
        matmul_size: n of the square `[n, n] x [n, n]` product.
        repeats: timed rounds; each figure's median round is reported.
        fast_compile: `CompileOptions.fast_compile` of every program.
        seed: seeds the random weights, the pairs and the sampling.
    """

    model: ModelConfig = TRL_MODEL
    ppo: tuple[tuple[int, int], ...] = ((64, 4), (64, 1), (256, 4), (256, 1))
    group_rollouts: tuple[int, ...] = (64, 256)
    group_size: int = 8
    pairs: int = 64
    generation_batches: tuple[int, ...] = (1, 64, 256)
    matmul_size: int = 2048
    repeats: int = 5
    fast_compile: bool | str = "fast"
    seed: int = 0

    def __post_init__(self):
        sizes = {
            "ppo": [n for shape in self.ppo for n in shape],
            "group_rollouts": list(self.group_rollouts),
            "generation_batches": list(self.generation_batches),
            **{name: [getattr(self, name)] for name in ("group_size", "pairs", "matmul_size")},
        }
        for name, values in sizes.items():
            if not values or any(
                isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in values
            ):
                raise ValueError(
                    f"{name}={getattr(self, name)!r}: give positive integers, at least one."
                )
        if self.repeats < 1:
            raise ValueError(f"repeats={self.repeats}: run at least one round.")
        if self.group_size < 2 or any(r % self.group_size for r in self.group_rollouts):
            raise ValueError(
                f"group_size={self.group_size} must be at least 2 and divide every "
                f"group_rollouts {list(self.group_rollouts)}."
            )
        CompileOptions(fast_compile=self.fast_compile)  # refuses a bad level in one line


#: Named workloads: "trl", TRL's shapes; "quick", a smoke run of every kind of figure.
PRESETS = {
    "trl": Workload(),
    "quick": Workload(
        model=QUICK_MODEL,
        ppo=((16, 1),),
        group_rollouts=(16,),
        pairs=8,
        generation_batches=(1, 16),
        matmul_size=256,
        repeats=2,
        fast_compile="fastest",
    ),
}


def multiplying_params(config: ModelConfig, head_outputs: int) -> int:
    """N: the parameters of a model that multiply (all but the token and position embeddings).

    Args:
        config: the transformer's shape.
        head_outputs: the head's width, `vocab_size` for a language model, 1 for a scalar one.
    """
    d, hidden = config.d_model, config.mlp_ratio * config.d_model
    attention = (d * 3 * d + 3 * d) + (d * d + d)  # query-key-value, output: weights, biases
    mlp = (d * hidden + hidden) + (hidden * d + d)
    layer_norms = 2 * (2 * d)  # scale and bias, before attention and before the MLP
    block = attention + mlp + layer_norms
    return config.num_layers * block + 2 * d + d * head_outputs + head_outputs


def forward_flops_per_token(config: ModelConfig, head_outputs: int) -> int:
    """f = 2 N + 2 n_layers L d_model: one token's forward FLOPs (see the module docstring)."""
    attention = 2 * config.num_layers * config.max_len * config.d_model
    return 2 * multiplying_params(config, head_outputs) + attention


def flops(config: ModelConfig, kind: str, size: int, epochs: int = 1) -> int:
    """The FLOPs one call of a figure's program is counted at (see the module docstring).

    Args:
        config: the transformer's shape.
        kind: a key of `UNITS`.
        size: rollouts (ppo, rloo, grpo), pairs (dpo, reward_model) or sequences (generate).
        epochs: update epochs (ppo, rloo, grpo).
    """
    lm = forward_flops_per_token(config, config.vocab_size)
    scalar = forward_flops_per_token(config, 1)
    length, sampled = config.max_len, config.max_len - 1
    if kind == "generate":
        return size * sampled * lm
    if kind == "ppo":
        score = length * (2 * lm + 2 * scalar)
        return size * (sampled * lm + score + 3 * epochs * length * (lm + scalar))
    if kind in ("rloo", "grpo"):
        score = length * (2 * lm + scalar)
        return size * (sampled * lm + score + 3 * epochs * length * lm)
    if kind == "dpo":
        return 2 * size * length * (lm + 3 * lm)
    if kind == "reward_model":
        return 2 * size * length * 3 * scalar
    raise ValueError(f"kind={kind!r}: choose one of {', '.join(UNITS)}.")


@dataclasses.dataclass(frozen=True)
class Program:
    """One figure's compiled program and what a call of it does.

    Attributes:
        name: the figure's name, e.g. "ppo_64x4".
        kind: a key of `UNITS`, or "matmul".
        call: runs the program once on its fixed arguments.
        work: episodes, pairs or tokens per call (the rate's numerator; FLOPs for a matmul).
        flops: counted FLOPs per call.
        compile_s: seconds to trace and compile it.
    """

    name: str
    kind: str
    call: Callable[[], Any]
    work: int
    flops: int
    compile_s: float


def programs(workload: Workload, log: Callable[[str], None] = lambda line: None) -> list[Program]:
    """Every figure's program, compiled for `workload` on the default device, not yet run: the
    learners and generation first (`UNITS`' order), then the two matmuls."""
    config = workload.model
    key_params, key_pairs, key_run = jax.random.split(jax.random.key(workload.seed), 3)
    params = jax.jit(lambda key: init_language_model(config, key))(key_params)
    scorer = reward_model.RewardModel(
        params=scalar_params_from(params), bias=jnp.float32(0.0), gain=jnp.float32(1.0)
    )
    out: list[Program] = []

    def add(kind: str, size: int, epochs: int, fn: Callable, args: tuple) -> None:
        name = f"{kind}_{size}x{epochs}" if kind == "ppo" else f"{kind}_{size}"
        work = size * (config.max_len - 1) if kind == "generate" else size
        # Each kernel on one thread below the batch where splitting it pays (as learners do).
        sequences = 2 * size if kind in ("dpo", "reward_model") else size
        options = CompileOptions(
            fast_compile=workload.fast_compile,
            parallel_tasks=sequences >= PARALLEL_TASKS_MIN_ENVS,
        )
        out.append(_compile(name, kind, fn, args, work, flops(config, kind, size, epochs), options))
        log(f"rlhf throughput: {name} compiled in {out[-1].compile_s:.1f} s")

    # The reference and the reward model are the programs' arguments, not constants folded
    # into them: `make_train` only closes over what it is given.
    for rollouts, epochs in workload.ppo:
        ppo_config = ppo.RLHFPPOConfig(
            iterations=1, rollouts=rollouts, update_epochs=epochs, num_minibatches=1
        )
        state = ppo.init_state(ppo_config, params, ppo.value_params_from_reward_model(scorer))
        train = functools.partial(_train, ppo.make_train, config, ppo_config)
        add("ppo", rollouts, epochs, train, (key_run, state, params, scorer))
    for kind, module in (("rloo", rloo), ("grpo", grpo)):
        make_config = rloo.RLOOConfig if module is rloo else grpo.GRPOConfig
        for rollouts in workload.group_rollouts:
            group_config = make_config(
                iterations=1,
                rollouts=rollouts,
                k=workload.group_size,
                update_epochs=1,
                num_minibatches=1,
            )
            state = module.init_state(group_config, params)
            train = functools.partial(_train, module.make_train, config, group_config)
            add(kind, rollouts, 1, train, (key_run, state, params, scorer))
    pairs = _pairs(config, params, key_pairs, workload.pairs)
    fit = FitConfig(steps=1, batch_size=workload.pairs)
    dpo_train = dpo.make_train_dpo(config, dpo.DPOConfig(fit=fit))
    add("dpo", workload.pairs, 1, dpo_train, (params, pairs, key_run, jnp.float32(0.1)))
    rm_train = functools.partial(reward_model.train_reward_model, config, fit)
    add("reward_model", workload.pairs, 1, rm_train, (params, pairs, key_run))
    for batch in workload.generation_batches:
        sample = functools.partial(_generate, config, batch=batch)
        add("generate", batch, 1, sample, (params, key_run))

    rows = MATMUL_MODEL_BATCH * config.max_len
    options = CompileOptions(fast_compile=workload.fast_compile)
    for name, (m, k, n) in (
        ("matmul_model", (rows, config.d_model, config.mlp_ratio * config.d_model)),
        ("matmul_square", (workload.matmul_size,) * 3),
    ):
        key_a, key_b = jax.random.split(jax.random.fold_in(key_run, m))
        a = jax.random.normal(key_a, (m, k), jnp.float32)
        b = jax.random.normal(key_b, (k, n), jnp.float32)
        out.append(
            _compile(name, "matmul", jnp.matmul, (a, b), 2 * m * k * n, 2 * m * k * n, options)
        )
    return out


def measure(workload: Workload, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Compiles, warms up and times every figure of `workload` (see the module docstring).

    Returns:
        A JSON-ready dict: "model" (the shape), "parameters" (all of the language model's,
        and N of the language and scalar models), "forward_flops_per_token" (f of each),
        "figures" (name -> kind, unit, rate (per second, of `UNITS[kind]`), gflops_per_s,
        mfu, seconds (median, min, max of a call), compile_s, warmup_s, work and flops per
        call), "matmul" (name -> shape, gflops_per_s, seconds, compile_s) and
        "peak_gflops_per_s" (the larger matmul rate, MFU's denominator).
    """
    compiled = programs(workload, log)
    warmup = {program.name: harness.time_call(program.call) for program in compiled}
    log(f"rlhf throughput: timing {len(compiled)} programs, {workload.repeats} rounds")
    seconds = harness.alternate(
        [harness.Contestant(p.name, p.call, p.compile_s) for p in compiled], workload.repeats
    )
    matmul, figures = {}, {}
    for program in compiled:
        timing = harness.summary(seconds[program.name])
        rate = program.flops / timing["median"] / 1e9
        common = {
            "gflops_per_s": rate,
            "seconds": timing,
            "compile_s": program.compile_s,
            "warmup_s": warmup[program.name],
        }
        if program.kind == "matmul":
            matmul[program.name] = {"flops": program.flops, **common}
        else:
            figures[program.name] = {
                "kind": program.kind,
                "unit": UNITS[program.kind],
                "rate": program.work / timing["median"],
                "work": program.work,
                "flops": program.flops,
                **common,
            }
    peak = max(entry["gflops_per_s"] for entry in matmul.values())
    for figure in figures.values():
        figure["mfu"] = figure["gflops_per_s"] / peak
    config = workload.model
    params = jax.eval_shape(lambda key: init_language_model(config, key), jax.random.key(0))
    return {
        "model": dataclasses.asdict(config),
        "parameters": {
            "language_model": sum(leaf.size for leaf in jax.tree.leaves(params)),
            "language_model_multiplying": multiplying_params(config, config.vocab_size),
            "scalar_model_multiplying": multiplying_params(config, 1),
        },
        "forward_flops_per_token": {
            "language_model": forward_flops_per_token(config, config.vocab_size),
            "scalar_model": forward_flops_per_token(config, 1),
        },
        "figures": figures,
        "matmul": matmul,
        "peak_gflops_per_s": peak,
    }


def _train(make_train: Callable, config: ModelConfig, learner_config: Any, key, state, ref, rm):
    """One learner's `train(key, state)` with the reference and reward model as arguments."""
    return make_train(config, learner_config, ref, rm)(key, state)


def _generate(config: ModelConfig, params: dict, key: jax.Array, *, batch: int) -> jax.Array:
    return generate(config, params, key, batch)


def _pairs(config: ModelConfig, params: dict, key: jax.Array, num_pairs: int):
    """`num_pairs` pairs of the model's own samples (which side is chosen does not matter)."""
    key_chosen, key_rejected = jax.random.split(key)
    sample = jax.jit(lambda key: generate(config, params, key, num_pairs))
    zeros = jnp.zeros((num_pairs,), jnp.float32)
    return reward_model.Preferences(
        chosen=sample(key_chosen),
        rejected=sample(key_rejected),
        gold_chosen=zeros,
        gold_rejected=zeros,
    )


def _compile(
    name: str,
    kind: str,
    fn: Callable,
    args: tuple,
    work: int,
    flops: int,
    options: CompileOptions,
) -> Program:
    compiled, times = compile_program(fn, *args, options=options)
    return Program(
        name=name,
        kind=kind,
        call=functools.partial(compiled, *args),
        work=work,
        flops=flops,
        compile_s=times.trace_s + times.compile_s,
    )
