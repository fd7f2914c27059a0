"""Learners, one folder per algorithm, each with the same shape: a config and
`default_config(env_id)`, `make_train(config, env, env_params) -> train(key, hyperparams=None)`,
`make_evaluate`, `make_init`/`make_run_updates` (training in chunks), `compile_options`, and
`make_policy` (the trained policy the `jaxrl` command evaluates, renders and saves)."""

from __future__ import annotations

import importlib
from types import ModuleType

#: The learners the `jaxrl` command trains, by `--algo` name.
ALGORITHMS = ("ppo", "dqn", "pqn", "sac")


def learner(name: str) -> ModuleType:
    """The learner module `jaxrl.agents.<name>`; a one-line ValueError naming the choices."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}.")
    return importlib.import_module(f"jaxrl.agents.{name}")
