"""jaxrl.rlhf.throughput: the FLOPs count against a hand count, and the workload's checks."""

import jax
import pytest

from jaxrl.rlhf import throughput
from jaxrl.rlhf.model import ModelConfig, init_language_model

# d = 4, MLP width 8, one layer, vocabulary 5, L = 3 (T = 2 sampled tokens).
TINY = ModelConfig(vocab_size=5, max_len=3, d_model=4, num_layers=1, num_heads=2, mlp_ratio=2)
# A block: LayerNorms 2 * 8, qkv 4 * 12 + 12, out 4 * 4 + 4, MLP 4 * 8 + 8 and 8 * 4 + 4 = 172.
# N: one block, the final LayerNorm 8, the head 4 * 5 + 5 (language) or 4 * 1 + 1 (scalar).
N_LM, N_SCALAR = 172 + 8 + 25, 172 + 8 + 5
# f = 2 N + 2 n_layers L d = 2 N + 24.
F_LM, F_SCALAR = 2 * N_LM + 24, 2 * N_SCALAR + 24


def test_multiplying_params_are_the_model_less_its_embeddings():
    assert throughput.multiplying_params(TINY, TINY.vocab_size) == N_LM == 205
    assert throughput.multiplying_params(TINY, 1) == N_SCALAR == 185
    params = jax.eval_shape(lambda key: init_language_model(TINY, key), jax.random.key(0))
    embeddings = TINY.vocab_size * TINY.d_model + TINY.max_len * TINY.d_model
    assert sum(leaf.size for leaf in jax.tree.leaves(params)) - embeddings == N_LM


def test_flops_of_each_figure_match_a_hand_count():
    assert throughput.forward_flops_per_token(TINY, TINY.vocab_size) == F_LM == 434
    assert throughput.forward_flops_per_token(TINY, 1) == F_SCALAR == 394
    # 2 sequences of 2 sampled tokens.
    assert throughput.flops(TINY, "generate", 2) == 2 * 2 * 434 == 1736
    # 2 rollouts x 3 epochs: sampling, four scoring passes of 3 tokens, 3 training passes (3 f)
    # of the policy and the value network.
    ppo = 2 * (2 * 434 + 3 * (2 * 434 + 2 * 394) + 3 * 3 * 3 * (434 + 394))
    assert throughput.flops(TINY, "ppo", 2, epochs=3) == ppo == 56_384
    # No value network: the policy, the reference and the reward model score; the policy trains.
    group = 2 * (2 * 434 + 3 * (2 * 434 + 394) + 3 * 3 * 434)
    assert throughput.flops(TINY, "rloo", 2) == throughput.flops(TINY, "grpo", 2) == group
    assert group == 17_120
    # 2 pairs = 4 sequences of 3 tokens: the reference's forward, the policy's forward-backward.
    assert throughput.flops(TINY, "dpo", 2) == 4 * 3 * (434 + 3 * 434) == 20_832
    assert throughput.flops(TINY, "reward_model", 2) == 4 * 3 * 3 * 394 == 14_184
    with pytest.raises(ValueError, match="kind='sft': choose one of ppo"):
        throughput.flops(TINY, "sft", 2)


def test_the_trl_preset_has_trls_shape():
    config = throughput.PRESETS["trl"].model
    params = jax.eval_shape(lambda key: init_language_model(config, key), jax.random.key(0))
    assert 390_000 < sum(leaf.size for leaf in jax.tree.leaves(params)) < 410_000
    assert (config.num_layers, config.d_model, config.num_heads, config.max_len) == (2, 128, 4, 25)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"repeats": 0}, "repeats=0: run at least one round"),
        ({"group_size": 3}, "group_size=3 must be at least 2 and divide every group_rollouts"),
        ({"ppo": ((64, 0),)}, "ppo=\\(\\(64, 0\\),\\): give positive integers"),
        ({"generation_batches": ()}, "generation_batches=\\(\\): give positive integers"),
        ({"fast_compile": "turbo"}, "fast_compile='turbo'"),
    ],
)
def test_workload_refuses_bad_sizes_in_one_line(changes, message):
    with pytest.raises(ValueError, match=message) as error:
        throughput.Workload(**changes)
    assert "\n" not in str(error.value)
