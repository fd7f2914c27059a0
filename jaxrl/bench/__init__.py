"""`jaxrl bench`: reproducible speed benchmarks of jaxrl against gymnax, Gymnasium, pgx, rejax
and Stable-Baselines3, with tables, JSON and plots.

    jaxrl bench all --quick --out /tmp/bench      # or: python -m jaxrl.bench all --quick

Modules: `harness` (timing, alternation, medians, memory, the machine, optional imports),
`envs`, `games` (the board games against pgx), `ppo` (with the optional `sb3` contestant),
`seeds`, `devices`, `rlhf`, `report` (ratios, markdown, plots) and `cli`. Each benchmark keeps
its contestants in a table of builders (`CONTESTANTS`); gymnax, Gymnasium, pgx, rejax,
Stable-Baselines3 and torch are imported only by the contestants that use them, and one that
fails to import is skipped with a note naming the error. Results go to the git-ignored `runs/`
unless `--out` says otherwise.
"""
