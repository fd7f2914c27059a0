"""`jaxrl bench`: reproducible speed benchmarks of jaxrl against gymnax, Gymnasium, rejax and
Stable-Baselines3, with tables, JSON and plots.

    jaxrl bench all --quick --out /tmp/bench      # or: python -m jaxrl.bench all --quick

Modules: `harness` (timing, alternation, medians, memory, the machine), `envs`, `ppo` (with the
optional `sb3` contestant), `seeds`, `devices`, `rlhf`, `report` (ratios, markdown, plots) and
`cli`. Nothing here imports JAX, gymnax, Gymnasium, rejax or torch until a benchmark runs.
"""
