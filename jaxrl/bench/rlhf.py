"""RLHF throughput beside TRL's: PPO, RLOO and GRPO episodes, DPO and reward-model pairs, and
generated tokens per second, each with its model FLOPs utilisation (MFU).

The figures come from `jaxrl.rlhf.throughput.measure` (one compiled program each, the median
of `repeats` rounds, compile apart; its docstring counts the FLOPs). The "trl" preset has
TRL's shape: 2 layers, width 128, 4 heads (about 400k parameters), 24 sampled tokens; "quick"
a tiny model for CI, whose figures are not compared with TRL's. MFU is against the matmul
throughput measured in the same run. When the throughput module cannot be imported the
benchmark is skipped with a note.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

from jaxrl.bench import harness, report
from jaxrl.machine import peak_rss_mib

PRESETS = ("trl", "quick")
#: TRL's figures at the "trl" preset's shapes, per second, on a 2-vCPU AMD EPYC with AVX-512
#: (torch, one process per figure). DPO and the reward model ran at TRL's default batch of 8
#: pairs, against jaxrl's 64; generation is Hugging Face's `generate`.
TRL = {
    "ppo_64x4": 66.0,
    "ppo_64x1": 104.0,
    "ppo_256x4": 96.0,
    "ppo_256x1": 212.0,
    "rloo_64": 247.0,
    "grpo_64": 324.0,
    "dpo_64": 310.0,
    "reward_model_64": 472.0,
    "generate_64": 27_000.0,
    "generate_256": 39_500.0,
}
#: The speed-up over TRL each figure aims for.
TARGETS = {
    "ppo_64x4": 3.0,
    "ppo_64x1": 3.0,
    "ppo_256x4": 1.6,
    "ppo_256x1": 1.6,
    "rloo_64": 2.0,
    "grpo_64": 2.0,
    "dpo_64": 2.0,
    "reward_model_64": 2.0,
    "generate_64": 2.0,
    "generate_256": 2.0,
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Attributes:
    preset: "trl" (TRL's shapes, compared with TRL's figures) or "quick" (CI-sized).
    repeats: timed rounds; each figure's median round is reported.
    """

    preset: str = "trl"
    repeats: int = 5

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise ValueError(f"preset={self.preset!r}: choose one of {', '.join(PRESETS)}.")
        if isinstance(self.repeats, bool) or not isinstance(self.repeats, int) or self.repeats < 1:
            raise ValueError(f"repeats={self.repeats!r}: run at least one round, e.g. 5.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--preset` and `--repeats` (defaults None: `settings_from_args` fills them)."""
    parser.add_argument(
        "--preset", choices=PRESETS, help="trl: TRL's shapes (default); quick: CI-sized"
    )
    parser.add_argument("--repeats", type=int, help="timed rounds, median taken (default 5)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from parsed options; `--quick` means the quick preset with 2 rounds."""
    preset = args.preset or ("quick" if args.quick else "trl")
    default_repeats = 2 if preset == "quick" else Settings.repeats
    return Settings(preset=preset, repeats=harness.given(args.repeats, default_repeats))


def run(settings: Settings, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Measures `settings.preset`'s workload; a skip note instead when it cannot be imported."""
    try:
        from jaxrl.rlhf import throughput
    except ImportError as error:
        note = f"rlhf skipped: jaxrl.rlhf.throughput is unavailable ({error})"
        log(f"note: {note}")
        return {"settings": dataclasses.asdict(settings), "results": None, "notes": [note]}
    workload = dataclasses.replace(throughput.PRESETS[settings.preset], repeats=settings.repeats)
    start = time.perf_counter()
    results = throughput.measure(workload, log)
    return {
        "settings": dataclasses.asdict(settings),
        "results": results,
        "trl": comparison(results["figures"], settings.preset),
        "wall_s": time.perf_counter() - start,
        "peak_rss_mib": peak_rss_mib(),
        "device_memory": harness.device_memory(),
        "notes": [],
    }


def comparison(
    figures: Mapping[str, Mapping[str, Any]], preset: str
) -> dict[str, dict[str, float | None]]:
    """Each figure beside TRL's: name -> {"trl", "ratio" (jaxrl / TRL), "target"}; all None
    where TRL has no figure, and for every figure of a preset other than "trl"."""
    out = {}
    for name, figure in figures.items():
        reference = TRL.get(name) if preset == "trl" else None
        out[name] = {
            "trl": reference,
            "ratio": harness.ratio(figure["rate"], reference),
            "target": TARGETS.get(name) if reference is not None else None,
        }
    return out


def markdown(section: dict[str, Any]) -> str:
    """The model, the matmul peak, and one row per figure beside TRL's; or the skip note."""
    if section["results"] is None:
        return "\n".join(f"- note: {note}" for note in section["notes"])
    results, preset = section["results"], section["settings"]["preset"]
    model, matmul = results["model"], results["matmul"]
    rows = []
    for name, compared in comparison(results["figures"], preset).items():
        figure = results["figures"][name]
        target = compared["target"]
        rows.append(
            [
                name,
                figure["unit"],
                f"{figure['rate']:,.0f}",
                "-" if compared["trl"] is None else f"{compared['trl']:,.0f}",
                report.fmt_ratio(compared["ratio"]),
                "-" if target is None else f">= {target:g}x",
                report.fmt(figure["gflops_per_s"]),
                f"{100 * figure['mfu']:.1f}%",
                f"{figure['compile_s']:.1f}",
            ]
        )
    header = ["figure", "unit", "jaxrl", "TRL", "ratio", "target", "GFLOP/s", "MFU", "compile s"]
    lines = [
        f"Preset `{preset}`: {model['num_layers']} layers, width {model['d_model']}, "
        f"{model['num_heads']} heads, {results['parameters']['language_model']:,} parameters, "
        f"{model['max_len'] - 1} sampled tokens, vocabulary {model['vocab_size']}; the median "
        f"of {section['settings']['repeats']} rounds per figure, compile apart.",
        "",
        f"Matmul peak {report.fmt(results['peak_gflops_per_s'])} GFLOP/s float32, the larger of "
        f"the model's MLP shape at batch 256 ({report.fmt(matmul['matmul_model']['gflops_per_s'])}"
        f" GFLOP/s) and a square product ({report.fmt(matmul['matmul_square']['gflops_per_s'])} "
        "GFLOP/s).",
        "",
        report.markdown_table(header, rows),
    ]
    if preset == "trl":
        lines += [
            "",
            "TRL: torch on a 2-vCPU AMD EPYC with AVX-512, one process per figure; DPO and the "
            "reward model at its default batch of 8 pairs (jaxrl's 64); generation by Hugging "
            "Face's `generate`. PPO is rollouts x update epochs with one minibatch; RLOO and "
            "GRPO sample 8 per prompt, one epoch.",
        ]
    return "\n".join(lines)


def plot(section: dict[str, Any], out_dir: Any) -> list[Any]:
    """No plot: the table says it all."""
    return []
