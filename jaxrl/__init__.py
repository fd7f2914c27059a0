"""jaxrl: fully-jitted reinforcement learning in JAX.

`jaxrl.jit(fn, options)` compiles a learner's `train` with the options that suit its run
(`CompileOptions`); the environments are `jaxrl.envs`, the learners `jaxrl.agents.*`.
"""

__version__ = "0.7.0"

__all__ = ["CompileOptions", "__version__", "jit"]


def __getattr__(name: str):
    # Imported on first use, so `import jaxrl` stays free of JAX for processes that never use it
    # (`jaxrl --help`, the Stable-Baselines3 benchmark's child).
    if name in ("CompileOptions", "jit"):
        from jaxrl import compilation

        return getattr(compilation, name)
    raise AttributeError(f"module 'jaxrl' has no attribute {name!r}")
