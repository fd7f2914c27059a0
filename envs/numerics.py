"""Numerics for env steps that vectorise on the CPU: reset noise and sines.

A classic-control step is a few dozen flops; on XLA's CPU backend random numbers, cumulative
sums and sines cost more than the physics. Here are cheaper forms of each:

- `uniform`: reset noise. JAX's default (partitionable) Threefry spends a 20-round hash per
  32-bit word and lowers it on the CPU as a rolled loop that XLA cannot fuse. `uniform` keeps
  both words of every hash and writes the rounds out (`threefry2x32`), so the hash fuses into
  the step's kernel: ~4x cheaper per value, with JAX's own bits.
- `uniform_from_bits` (and normals, Gumbels): `jax.random`'s draws from bits drawn ahead, so
  one `jax.random.bits` call (one rolled loop to compile) feeds several draws.
- `running_count`: `cumsum` of a mask, which XLA's CPU backend lowers to a reduce-window, the
  costliest kernel of a batched step; as small float32 matrix products it is several times
  cheaper.
- `sin_cos`: XLA calls the scalar C library for `sin` and `cos` (~6 ns an element here, against
  ~1 ns for `exp` or `tanh`, which it vectorises). `sin_cos` is Cephes' single-precision
  `sinf`/`cosf` in element-wise ops, which XLA vectorises. float64 inputs (under
  `JAX_ENABLE_X64`, as in the float64 parity tests) go to `jnp.sin`/`jnp.cos` unchanged.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_FUSED_HASHES = contextvars.ContextVar("jaxrl_fused_hashes", default=True)


@contextlib.contextmanager
def fused_hashes(enabled: bool) -> Iterator[None]:
    """Within the block, whether `uniform` and `split` trace their
    fused hash (True, the default) or JAX's own calls (False).

    A trace-time choice between run time and compile time: the written-out hash is faster per
    value on the CPU, but its 20 rounds cost compile time at every call site, where JAX's
    rolled loop compiles in a fraction of that. `Environment.step_batch` draws small reset pools
    (a few envs, as PPO's rollouts step) JAX's way.
    """
    token = _FUSED_HASHES.set(bool(enabled))
    try:
        yield
    finally:
        _FUSED_HASHES.reset(token)


def _fused(key: jax.Array) -> bool:
    return _FUSED_HASHES.get() and jax.random.key_impl(key) == "threefry2x32"


def threefry2x32(
    key_0: jax.Array, key_1: jax.Array, count_0: jax.Array, count_1: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """The Threefry-2x32 hash (20 rounds), bit for bit `jax.extend.random.threefry_2x32`.

    JAX lowers its hash on the CPU as a rolled 5-iteration loop (to compile faster), which XLA
    cannot fuse: every iteration reads and writes the whole batch. Written out, the rounds are
    plain element-wise ops that XLA fuses into the step's kernel.

    Args:
        key_0, key_1: uint32, the key's two words (broadcast against the counters).
        count_0, count_1: uint32 counters; one hash per element.

    Returns:
        The hash's two uint32 output words, shaped like the broadcast inputs.
    """
    key_2 = key_0 ^ key_1 ^ jnp.uint32(0x1BD11BDA)
    schedule = (key_0, key_1, key_2)
    x_0, x_1 = count_0 + key_0, count_1 + key_1
    for block in range(5):
        for rotation in _THREEFRY_ROTATIONS[block % 2]:
            x_0 = x_0 + x_1
            x_1 = (x_1 << jnp.uint32(rotation)) | (x_1 >> jnp.uint32(32 - rotation))
            x_1 = x_0 ^ x_1
        x_0 = x_0 + schedule[(block + 1) % 3]
        x_1 = x_1 + schedule[(block + 2) % 3] + jnp.uint32(block + 1)
    return x_0, x_1


def split(key: jax.Array, num: int, stream: jax.typing.ArrayLike = 0) -> jax.Array:
    """`num` keys from `key`, `jax.random.split`'s keys without its rolled loop.

    Key `j` is the hash of counters `(stream, j)` under `key`: with `stream = 0` exactly
    `jax.random.split(key, num)` (JAX's default, partitionable Threefry); each other `stream`
    hashes other counters, so gives another independent set of keys (in one fused hash, where
    `split(fold_in(key, stream), num)` would run two rolled loops). Keys of another
    implementation, or with `fused_hashes(False)`, go to `jax.random.split(key, num)`, or to
    `jax.random.split(fold_in(key, stream), num)` for a stream other than a literal 0.

    Args:
        key: one PRNG key, typed or raw uint32; the result is of the same kind.
        num: static number of keys.
        stream: uint32-convertible scalar, may be traced.

    Returns:
        `num` keys, `[num]` typed or `[num, 2]` raw uint32.
    """
    if not _fused(key):
        if isinstance(stream, int) and stream == 0:
            return jax.random.split(key, num)
        return jax.random.split(jax.random.fold_in(key, stream), num)
    key_words = jax.random.key_data(key)
    stream = jnp.broadcast_to(jnp.asarray(stream).astype(jnp.uint32), (num,))
    new_words = jnp.stack(
        threefry2x32(key_words[0], key_words[1], stream, jnp.arange(num, dtype=jnp.uint32)),
        axis=-1,
    )
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.wrap_key_data(new_words, impl="threefry2x32")
    return new_words


def uniform(
    key: jax.Array,
    shape: tuple[int, ...],
    minval: Any = 0.0,
    maxval: Any = 1.0,
    dtype: Any = None,
) -> jax.Array:
    """Uniforms in `[minval, maxval)`: `jax.random.uniform` at a quarter of its CPU cost.

    float32 values are drawn from `h = ceil(n / 2)` hashes for `n = prod(shape)` words, both
    halves of each kept: hash `i` takes counters `(i, i + h)` and gives words `i` and `i + h`.
    For even `n` these are exactly the bits `jax.random.bits` gives with
    `jax_threefry_partitionable` off, mapped to floats as `jax.random.uniform` maps them. Few
    words are hashed as scalars, so under `vmap` the hash runs along the batch axis, fused and
    vectorised. Other dtypes, and keys of another
    implementation (`rbg`, ...), go to `jax.random.uniform`.

    Args:
        key: one PRNG key (typed or raw uint32), used once.
        shape: static output shape of at most `MAX_UNIFORM_VALUES` values, one scalar hash per
            pair (under `vmap`, a vector along the batch).
        minval, maxval: bounds, scalars or arrays broadcastable to `shape`.
        dtype: float dtype; JAX's default float (float32, float64 under x64) when None.

    Returns:
        Array of `shape` and `dtype`.
    """
    dtype = jnp.dtype(float) if dtype is None else jnp.dtype(dtype)
    dtype = jax.dtypes.canonicalize_dtype(dtype)
    if dtype != jnp.float32 or not _fused(key):
        return jax.random.uniform(key, shape, dtype, minval, maxval)
    num_words = math.prod(shape)
    if num_words > MAX_UNIFORM_VALUES:
        raise ValueError(
            f"numerics.uniform draws at most {MAX_UNIFORM_VALUES} values (one env's reset "
            f"noise); got shape {shape}: use jax.random.uniform for batches."
        )
    words = _words(key, num_words)
    low = jnp.broadcast_to(jnp.asarray(minval, jnp.float32), shape).ravel()
    high = jnp.broadcast_to(jnp.asarray(maxval, jnp.float32), shape).ravel()
    values = [
        jnp.maximum(low[i], _unit_float(word) * (high[i] - low[i]) + low[i])
        for i, word in enumerate(words)
    ]
    return computed_once(jnp.stack(values).reshape(shape), words[0])


def computed_once(tree: Any, anchor: jax.Array) -> Any:
    """`tree` with each float32 leaf divided by a 1 that XLA cannot prove is 1.

    XLA's fusion copies cheap element-wise producers into every consumer's kernel: the hash
    behind a reset, or a step's dynamics, would be recomputed for each state field and
    observation entry that consumes it (several times the work, and the compile time with
    it). A division by a non-constant counts as expensive, so the values before it are
    computed once and stored. Exact: `v / 1.0 == v`, NaN and infinities included.

    Args:
        tree: a pytree of arrays; leaves other than float32 pass through.
        anchor: an integer scalar known only at run time (a key word, a step count): the 1 is
            `(anchor + 1.0) / (anchor + 1.0)`.
    """
    anchor = jnp.abs(jnp.asarray(anchor).astype(jnp.float32)) + 1.0
    one = anchor / anchor

    def divide(leaf):
        return leaf / one if leaf.dtype == jnp.float32 else leaf

    return jax.tree.map(divide, tree)


#: `uniform` hashes each pair of values as scalars (vectorised along a `vmap`): few values only.
MAX_UNIFORM_VALUES = 8


def _words(key: jax.Array, num_words: int) -> list[jax.Array]:
    """`num_words` uint32 scalars from `ceil(num_words / 2)` hashes of one threefry key."""
    key_words = jax.random.key_data(key)
    half = (num_words + 1) // 2
    words: list[Any] = [None] * (2 * half)
    for i in range(half):
        words[i], words[i + half] = threefry2x32(
            key_words[0], key_words[1], jnp.uint32(i), jnp.uint32(i + half)
        )
    return words[:num_words]


def _unit_float(word: jax.Array) -> jax.Array:
    """uint32 -> float32 in [0, 1) from the top 23 bits, as `jax.random.uniform` maps them."""
    return jax.lax.bitcast_convert_type((word >> 9) | jnp.uint32(0x3F800000), jnp.float32) - 1.0


def uniform_from_bits(
    bits: jax.Array, minval: jax.typing.ArrayLike = 0.0, maxval: jax.typing.ArrayLike = 1.0
) -> jax.Array:
    """float32 uniforms in `[minval, maxval)` from uint32 random bits, one per word.

    Bit for bit `jax.random.uniform(key, shape, jnp.float32, minval, maxval)` in the same
    compiled program when `bits = jax.random.bits(key, shape)` (evaluated op by op, outside
    `jit`, the final multiply-add may round differently): one `bits` call can feed several
    draws (a PPO update takes all its random numbers from one), where each `jax.random` call
    would be a random-number loop of its own in the compiled program.
    """
    low, high = jnp.asarray(minval, jnp.float32), jnp.asarray(maxval, jnp.float32)
    return jnp.maximum(low, _unit_float(bits) * (high - low) + low)


def normal_from_bits(bits: jax.Array) -> jax.Array:
    """float32 standard normals from uint32 random bits: `jax.random.normal(key, shape)` when
    `bits = jax.random.bits(key, shape)` (bit for bit as `uniform_from_bits` is)."""
    low = np.nextafter(np.float32(-1.0), np.float32(0.0))
    return np.float32(np.sqrt(2.0)) * jax.lax.erf_inv(uniform_from_bits(bits, low, 1.0))


def gumbel_from_bits(bits: jax.Array) -> jax.Array:
    """float32 standard Gumbels from uint32 random bits: `jax.random.gumbel(key, shape)` when
    `bits = jax.random.bits(key, shape)` (bit for bit as `uniform_from_bits` is)."""
    tiny = np.finfo(np.float32).tiny
    return -jnp.log(-jnp.log(uniform_from_bits(bits, tiny, 1.0)))


#: `running_count` multiplies by triangular matrices from this many elements on (below, and
#: past float32's exact integers, `jnp.cumsum`).
RUNNING_COUNT_MIN_SIZE = 1024
_RUNNING_COUNT_WIDTH = 32
_RUNNING_COUNT_MAX_TRIANGLE = 128


def running_count(mask: jax.Array) -> jax.Array:
    """`jnp.cumsum(mask.astype(int32))` of a 1-D bool array: the number of Trues up to each index.

    XLA's CPU backend lowers `cumsum` to a reduce-window, several times slower than the
    element-wise work around it. From `RUNNING_COUNT_MIN_SIZE` elements the mask is split into
    rows of 32, counted within each row by a product with an upper-triangular matrix of ones,
    and offset by the running count of the row totals (the same way again for long ones, a
    product with a strictly lower-triangular matrix for up to 128 rows). Exact: every partial
    sum is an integer below 2**24.

    Args:
        mask: `[n]` bool.

    Returns:
        `[n]` int32, inclusive running count.
    """
    size = mask.shape[0]
    if size < RUNNING_COUNT_MIN_SIZE or size >= 2**24:
        return jnp.cumsum(mask.astype(jnp.int32))
    return _running_sum(mask.astype(jnp.float32)).astype(jnp.int32)


def _running_sum(values: jax.Array) -> jax.Array:
    """Inclusive running sum of a 1-D float32 array of small integers (exact below 2**24)."""
    size = values.shape[0]
    width = _RUNNING_COUNT_WIDTH
    rows = -(-size // width)
    padded = jnp.pad(values, (0, rows * width - size)).reshape(rows, width)
    # NumPy constants are embedded as literals; jnp.triu would be rebuilt on every call.
    within_row = padded @ np.triu(np.ones((width, width), np.float32))
    row_totals = within_row[:, -1]
    if rows <= _RUNNING_COUNT_MAX_TRIANGLE:
        rows_before = np.tril(np.ones((rows, rows), np.float32), -1) @ row_totals
    else:
        rows_before = _running_sum(row_totals) - row_totals
    return (within_row + rows_before[:, None]).reshape(-1)[:size]


# Cephes' sinf/cosf: pi/4 in three parts for the reduction, minimax polynomials on [-pi/4, pi/4].
_FOUR_OVER_PI = 1.27323954473516
_PI_OVER_4_PARTS = (0.78515625, 2.4187564849853515625e-4, 3.77489497744594108e-8)
_SIN_COEFFICIENTS = (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)
_COS_COEFFICIENTS = (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2)
#: Beyond this |x| the three-part reduction loses accuracy (Cephes' own bound).
SIN_COS_MAX_ABS = 8192.0


def sin_cos(x: jax.typing.ArrayLike) -> tuple[jax.Array, jax.Array]:
    """`(sin(x), cos(x))`, element-wise, in ops XLA vectorises on the CPU.

    For float32 `x`: Cephes' `sinf`/`cosf` (within 2 ulp of the exact value for
    `|x| <= SIN_COS_MAX_ABS`, tested against NumPy's float64; NaN for non-finite `x`). The
    classic-control envs keep their angles far inside that range. Any other dtype goes to
    `jnp.sin`/`jnp.cos`.
    """
    x = jnp.asarray(x)
    if x.dtype != jnp.float32:
        return jnp.sin(x), jnp.cos(x)
    magnitude = jnp.abs(x)
    octant = (magnitude * jnp.float32(_FOUR_OVER_PI)).astype(jnp.int32)
    octant = (octant + 1) & ~1  # the nearest even octant: |reduced| <= pi/4
    multiple = octant.astype(jnp.float32)
    reduced = magnitude
    for part in _PI_OVER_4_PARTS:
        reduced = reduced - multiple * jnp.float32(part)
    square = reduced * reduced
    a, b, c = (jnp.float32(v) for v in _SIN_COEFFICIENTS)
    sin_reduced = ((a * square + b) * square + c) * square * reduced + reduced
    a, b, c = (jnp.float32(v) for v in _COS_COEFFICIENTS)
    cos_reduced = ((a * square + b) * square + c) * square * square - 0.5 * square + 1.0
    quadrant = (octant >> 1) & 3
    swap = (quadrant & 1) == 1
    sin_magnitude = jnp.where(swap, cos_reduced, sin_reduced)
    cos_magnitude = jnp.where(swap, sin_reduced, cos_reduced)
    sin = jnp.where(quadrant >= 2, -sin_magnitude, sin_magnitude)
    sin = jnp.where(x < 0, -sin, sin)
    cos = jnp.where((quadrant == 1) | (quadrant == 2), -cos_magnitude, cos_magnitude)
    finite = jnp.isfinite(x)
    return jnp.where(finite, sin, jnp.nan), jnp.where(finite, cos, jnp.nan)


def sin(x: jax.typing.ArrayLike) -> jax.Array:
    """`sin_cos(x)[0]` (XLA drops the unused cosine)."""
    return sin_cos(x)[0]


def cos(x: jax.typing.ArrayLike) -> jax.Array:
    """`sin_cos(x)[1]` (XLA drops the unused sine)."""
    return sin_cos(x)[1]
