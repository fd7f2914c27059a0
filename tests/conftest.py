"""Every test: strict numerics, XLA's quickest CPU compile, and compiled programs let go between
modules.

- Implicit rank promotion ((N,1) + (N,)) is an error.
- Tests compile as `jaxrl.CompileOptions("fastest")` does (`TEST_XLA_FLAGS`: LLVM at -O1,
  XLA's loop emitters, element-wise work to YNNPACK): most tests are bound by compile time, and
  this halves it for a PPO program. Results are compared within a test or against values
  written under the same flags (the golden PPO runs), never across compile levels. A flag set
  in `XLA_FLAGS` already is kept.
- JAX's caches of compiled programs are cleared after each test module, so the suite's memory
  does not grow with every program it has compiled.
"""

import os

#: XLA flags the tests compile with (`jaxrl.compilation.CPU_FASTEST_COMPILE_OPTIONS` as flags).
TEST_XLA_FLAGS = {
    "--xla_backend_optimization_level": "1",
    "--xla_cpu_use_fusion_emitters": "false",
    "--xla_cpu_experimental_ynn_fusion_type": (
        "LIBRARY_FUSION_TYPE_DOT,LIBRARY_FUSION_TYPE_ELTWISE,LIBRARY_FUSION_TYPE_REDUCE"
    ),
}
# Read when JAX's backend starts, so set before any test imports JAX; child processes (the
# CLI's tests) inherit them.
_given = os.environ.get("XLA_FLAGS", "")
os.environ["XLA_FLAGS"] = " ".join(
    [_given] + [f"{flag}={value}" for flag, value in TEST_XLA_FLAGS.items() if flag not in _given]
).strip()

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    yield
    jax.clear_caches()


#: Modules that take the longest, scheduled first: `--dist loadscope` hands whole modules to the
#: workers in collection order, so a long one collected last would run alone at the end.
LONGEST_FIRST = (
    "tests/rlhf/test_frontier.py",
    "tests/bench/test_cli.py",
    "tests/test_readme.py",
    "tests/test_tour.py",
    "tests/test_distributed.py",
    "tests/agents/selfplay/test_selfplay.py",
    "tests/cli/test_render.py",
    "tests/cli/test_cli.py",
    "tests/rlhf/test_pipeline.py",
    "tests/envs/test_core.py",
)


def pytest_collection_modifyitems(items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a module, and for the rest, collection order
