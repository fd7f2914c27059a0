"""RLHF on a tiny language model, every stage one compiled JAX program.

From a corpus the project generates itself to a policy fine-tuned from (simulated) human
feedback, small enough for a 2-core CPU in minutes and unchanged on a GPU:

- `corpus`: a grammar of short reviews, deterministic from a seed; word-level tokenizer.
- `model`: a decoder-only transformer (Flax), its scalar-head twin, KV-cached generation.
- `pretrain`: next-token pretraining.
- `labeller`: the hidden "human" (gold score) and its noisy Bradley-Terry preferences.
- `reward_model`: preference pairs, a Bradley-Terry reward model, its normalisation.
- `rollout`: sampling and scoring shared by the on-policy methods, their minibatch loop.
- `ppo`: RLHF-PPO with a per-token KL penalty to the pretrained policy.
- `rloo`, `grpo`: REINFORCE leave-one-out and group-relative policy optimisation (no critic).
- `dpo`: Direct Preference Optimisation on the same pairs (sigmoid, IPO and conservative losses).
- `best_of_n`: best-of-n by the proxy for every n from one batch of samples, and its KL.
- `scaling_laws`: Gao et al.'s gold-gain laws against sqrt(KL), their fits and a seed bootstrap.
- `evaluation`: gold score, proxy score and KL of a policy, on its own samples.
- `pipeline`: the `jaxrl rlhf` command.
- `frontier`, `frontier_report`: `jaxrl rlhf frontier`, every method over seeds x KL
  coefficients (or betas) with the over-optimisation runs, and its analysis, report and plots.
- `throughput`: the programs and FLOPs counts of `jaxrl bench rlhf`.
"""
