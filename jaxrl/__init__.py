"""jaxrl: fully-jitted reinforcement learning in JAX."""

from jaxrl.compilation import CompileOptions, jit

__version__ = "0.2.0"

__all__ = ["CompileOptions", "jit", "__version__"]
