"""The `jaxrl rlhf` command: bad input fails fast with one line; a tiny run of every stage
raises the hidden labeller's score and writes the run directory."""

import dataclasses
import json

import numpy as np
import pytest

from jaxrl.rlhf import pipeline
from jaxrl.rlhf.model import ModelConfig
from jaxrl.rlhf.ppo import RLHFPPOConfig
from jaxrl.rlhf.training import FitConfig


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--pairs", "0"], "num_pairs=0"),
        (["--pairs", "1"], "leaves no training or no held-out pair"),
        (["--d-model", "30"], "num_heads=4 does not divide d_model=30"),
        (["--kl-target", "-1"], "kl_target=-1.0"),
        (["--ppo-iterations", "0"], "iterations=0"),
        (["--rollouts", "30"], "does not divide rollouts=30"),
        (["--pretrain-steps", "-5"], "steps=-5"),
        (["--dpo-beta", "0"], "beta=0.0"),
        (["--seed", "-1"], "--seed -1"),
        (["--d-model", "abc"], "argument --d-model: invalid int value: 'abc'"),
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert pipeline.main(argv + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and message in err and err.count("\n") == 1
    assert not out.exists()


def test_out_that_is_a_file_is_rejected(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("x")
    assert pipeline.main(["--out", str(path)]) == 2
    assert "is a file" in capsys.readouterr().err


def test_an_existing_run_is_kept_unless_overwrite(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    assert pipeline.main(["--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert "already holds a run; add --overwrite" in err and err.count("\n") == 1
    assert (run / "config.json").read_text() == "{}"


def test_flags_reach_the_config():
    args = pipeline.parse_args(
        ["--quick", "--seed", "4", "--ppo-iterations", "7", "--kl-target", "3", "--layers", "1"]
    )
    config = pipeline.config_from_args(args)
    assert config.seed == 4 and config.ppo.iterations == 7 and config.ppo.kl_target == 3.0
    assert config.model.num_layers == 1
    assert config.model.d_model == pipeline.quick_config().model.d_model


def tiny_config() -> pipeline.PipelineConfig:
    return pipeline.PipelineConfig(
        seed=0,
        model=ModelConfig(d_model=32, num_heads=2, num_layers=1),
        corpus_size=3000,
        pretrain=FitConfig(steps=300, batch_size=64, learning_rate=3e-3),
        num_pairs=768,
        reward=FitConfig(steps=150, batch_size=64, learning_rate=1e-3),
        ppo=RLHFPPOConfig(iterations=12, rollouts=32, num_minibatches=2),
        dpo=dataclasses.replace(
            pipeline.quick_config().dpo, fit=FitConfig(steps=60, batch_size=32, learning_rate=5e-4)
        ),
        eval_samples=256,
        shown_samples=3,
    )


@pytest.mark.slow
def test_every_stage_runs_and_ppo_raises_the_gold_score(tmp_path, capsys):
    out = tmp_path / "run"
    metrics = pipeline.run_pipeline(tiny_config(), out)
    printed = capsys.readouterr().out
    for line in ("[1/6] pretrain", "[6/6] evaluation", "held-out accuracy", "pretrained", "DPO"):
        assert line in printed
    evaluation = metrics["evaluation"]
    assert evaluation["pretrained"]["kl"] == pytest.approx(0.0, abs=1e-4)
    # The learned pieces work: the LM nearly reaches the grammar's entropy (~1.2 nats/token),
    # the reward model ranks held-out pairs better than chance, and PPO, steered only by it,
    # raises the hidden gold score by a clear margin at a moderate KL.
    assert metrics["pretrain"]["heldout_loss"] < 1.5
    assert metrics["reward_model"]["heldout_gold_accuracy"] > 0.6  # chance: 0.5 +- 0.04
    assert evaluation["PPO"]["gold"] > evaluation["pretrained"]["gold"] + 0.75
    assert 0.1 < evaluation["PPO"]["kl"] < 15.0
    per_iteration = metrics["ppo"]["per_iteration"]
    assert len(per_iteration["gold"]) == len(per_iteration["kl"]) == 12
    assert per_iteration["kl"][0] == pytest.approx(0.0, abs=1e-4)  # the first rollout is pi_ref
    written = json.loads((out / "metrics.json").read_text())
    assert written["ppo"]["per_iteration"]["proxy"] == per_iteration["proxy"]
    assert json.loads((out / "config.json").read_text())["ppo"]["iterations"] == 12
    assert (out / "reward_vs_kl.png").read_bytes()[:4] == b"\x89PNG"
    samples = (out / "samples.md").read_text()
    assert samples.count("\n- `") == 9 and "## PPO" in samples
    assert not list(out.glob("*.tmp*"))
    assert np.isfinite(written["dpo"]["loss_curve"]).all()
