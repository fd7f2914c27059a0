"""The shapes of PPO's compiled program that its CPU speed rests on (docs/performance.md):
vmapping batches each loop body once, an update draws its random numbers in two calls, and
XLA folds the anchors that make carries batched away. These pin JAX internals and program
structure, not behaviour: when a JAX upgrade moves them, update the counts with care."""

import jax
import jax.numpy as jnp
import pytest

from jaxrl._xla_cpu import batched_from_start
from jaxrl.agents import ppo
from jaxrl.agents.ppo import train as ppo_train
from jaxrl.agents.ppo.networks import make_agent
from tests.agents.ppo.conftest import TINY


@pytest.fixture(scope="module")
def cartpole():
    from jaxrl import envs

    return envs.make("CartPole-v1")


def _count_primitives(jaxpr, names: frozenset[str] | set[str]) -> int:
    """Equations of the named primitives in a jaxpr, nested jaxprs included."""
    count = 0
    for eqn in jaxpr.eqns:
        count += eqn.primitive.name in names
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else [param]:
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    count += _count_primitives(inner, names)
    return count


@pytest.mark.parametrize(
    "normalize, sweep",
    [(False, False), (True, False), (False, True)],
    ids=["seeds", "normalized", "sweep"],
)
def test_vmap_batches_each_loop_once(cartpole, monkeypatch, normalize, sweep):
    """A scan whose carry starts unbatched and turns batched is batched twice by vmap (and the
    loops inside it with it); `train`'s constant carries depend on the key and hyperparameters
    (`batched_from_start`), so vmapping over seeds or a sweep batches each loop once. Counts
    calls of JAX's scan batching rule (an internal hook: if a JAX upgrade moves it, move this
    with it)."""
    from jax._src.interpreters import batching
    from jax._src.lax.control_flow import loops

    env, params = cartpole
    config = TINY.replace(normalize_observations=normalize, normalize_rewards=normalize)
    train = ppo.make_train(config, env, params)
    key = jax.random.key(0)
    num_scans = _count_primitives(jax.make_jaxpr(train)(key).jaxpr, {"scan"})
    assert num_scans >= 5  # updates, rollout, GAE, epochs, minibatches

    rule = batching.fancy_primitive_batchers[loops.scan_p]
    calls = []
    monkeypatch.setitem(
        batching.fancy_primitive_batchers,
        loops.scan_p,
        lambda *args, **kwargs: calls.append(1) or rule(*args, **kwargs),
    )
    if sweep:
        grid, _ = ppo.hyperparams_grid(config, learning_rate=[1e-4, 1e-3])
        jax.make_jaxpr(jax.vmap(train, in_axes=(None, 0)))(key, grid)
    else:
        jax.make_jaxpr(jax.vmap(train))(jax.random.split(key, 3))
    assert len(calls) == num_scans


#: The primitives that each run a Threefry hash (a rolled loop on the CPU) per call site.
_RANDOM_DRAWS = {"random_bits", "random_split", "random_fold_in", "threefry2x32"}


def test_an_update_draws_its_random_numbers_in_two_calls(cartpole):
    """All of an update's noise comes from one bits call, plus the pools' reset noise: each
    Threefry call site is a loop of its own to compile (the update used to have six)."""
    env, params = cartpole
    agent = make_agent(TINY, env, params)
    runner = ppo.make_init(TINY, env, params)(jax.random.key(0))
    jaxpr = jax.make_jaxpr(
        lambda r: ppo_train.update_step(r, TINY, env, params, agent, TINY.hyperparams)
    )(runner)
    assert _count_primitives(jaxpr.jaxpr, _RANDOM_DRAWS) == 2
    init_jaxpr = jax.make_jaxpr(ppo.make_init(TINY, env, params))(jax.random.key(0))
    # The init's one bits call; CartPole's reset writes its hash out (`numerics.uniform`).
    assert _count_primitives(init_jaxpr.jaxpr, _RANDOM_DRAWS) == 1


def test_xla_folds_the_anchors_away():
    """The compiled program reads nothing of the anchor: XLA folds `bits & 0` and `x - 0`."""
    compiled = jax.jit(batched_from_start).lower(jnp.ones(3), jax.random.key(0))
    hlo = compiled.compile().as_text()
    assert " and(" not in hlo and " subtract(" not in hlo, hlo
