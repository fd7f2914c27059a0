"""Workarounds for XLA's CPU backend, each behind a named helper, so learners read as algorithms.

Why each exists, what it measured and how to rerun the measurement: docs/performance.md. In
short, XLA's CPU backend compiles every fusion as a kernel of its own and runs each as a task of
its dataflow executor, so compile time grows with the number of kernels, and small arrays pay
per kernel at run time; when more than eight kernels of a loop body are ready at once the
executor hands half to another thread, and a loop that hops between threads every step runs
slower. Every helper here computes exactly what the plain code it replaces computes.

- `draw_words`: every random number an update needs from one `jax.random.bits` call (each
  `jax.random` call site is a rolled Threefry loop of a dozen kernels on the CPU).
- `scan_packed`: a scan whose per-step inputs and outputs travel as one float32 matrix each
  (one store or slice per step instead of one per array); `shuffled_minibatches`, one gather.
- `pack_fields`: a dataclass of scalars as one array, for the same reason.
- `permutation_from_bits`: a shuffle as one single-array sort.
- `batched_from_start`: loop carries that `jax.vmap` sees as batched from the start, so each
  loop body is batched once.
- `resets_hashed_by_jax`: small reset pools hash JAX's way (a rolled loop, quick to compile).
- `FlatParams`: a network's parameters as one vector (one Adam update, one random draw).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np

from jaxrl.envs import numerics

Tree = TypeVar("Tree")

#: Integers up to this magnitude are exact in float32.
FLOAT32_EXACT_INT_MAX = 1 << 24

_EXACT_IN_FLOAT32 = frozenset(
    np.dtype(name) for name in ("float32", "float16", "bool", "int8", "int16", "uint8", "uint16")
) | {np.dtype(jnp.bfloat16)}
_VOUCHABLE_INTS = frozenset(np.dtype(name) for name in ("int32", "uint32", "int64", "uint64"))


# Random numbers drawn in one call.


def draw_words(key: jax.Array, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, jax.Array]:
    """uint32 random words of each shape in `shapes`, cut in order from one `jax.random.bits`
    call on `key`: name -> `[*shape]`."""
    sizes = {name: math.prod(shape) for name, shape in shapes.items()}
    words = jax.random.bits(key, (sum(sizes.values()),))
    parts, offset = {}, 0
    for name, shape in shapes.items():
        parts[name] = words[offset : offset + sizes[name]].reshape(shape)
        offset += sizes[name]
    return parts


def key_words(key: jax.Array) -> int:
    """uint32 words in one key of `key`'s implementation (2 for Threefry)."""
    return jax.random.key_data(key).shape[-1]


def keys_from_words(words: jax.Array, like: jax.Array) -> jax.Array:
    """Keys of `like`'s implementation from random words `[..., key_words]`: typed keys for a
    typed `like`, the raw words for a raw one."""
    if jax.dtypes.issubdtype(like.dtype, jax.dtypes.prng_key):
        return jax.random.wrap_key_data(words, impl=jax.random.key_impl(like))
    return words


def resets_hashed_by_jax(reset: Callable[..., Any], keys: jax.Array, *args: Any) -> Any:
    """`reset(keys, *args)` with the env's reset noise hashed JAX's way (a rolled loop) rather
    than by `numerics`' written-out hash, whose speed pays only across many envs while its
    rounds cost compile time at every call site."""
    with numerics.fused_hashes(False):
        return reset(keys, *args)


#: `permutation_from_bits` packs the index into a sort key's low bits up to this many elements.
PACKED_SORT_MAX_SIZE = 1 << 16


def permutation_from_bits(bits: jax.Array) -> jax.Array:
    """A uniformly random permutation of `0..size-1` from `[size]` uint32 random bits: int32.

    Up to `PACKED_SORT_MAX_SIZE` elements each word has its low bits replaced by its index and a
    single-array sort orders them (faster on the CPU than sorting keys and indices as a pair,
    `jnp.argsort`); the index comes back from the low bits. Ties of the random high bits (at
    least 16 of them) keep index order, as a stable argsort of uniform floats would. Larger
    arrays argsort the uniforms the bits map to.
    """
    size = bits.shape[0]
    if size > PACKED_SORT_MAX_SIZE:
        return jnp.argsort(numerics.uniform_from_bits(bits)).astype(jnp.int32)
    index_bits = max(1, (size - 1).bit_length())
    low_mask = (1 << index_bits) - 1
    keys = (bits & jnp.uint32(0xFFFFFFFF ^ low_mask)) | jnp.arange(size, dtype=jnp.uint32)
    return (jax.lax.sort(keys) & jnp.uint32(low_mask)).astype(jnp.int32)


# Several arrays as the columns of one float32 matrix.


@dataclasses.dataclass(frozen=True)
class Column:
    """Where one packed array lies: columns `start : start + width` of the last axis, reshaped
    to `shape` (its per-sample shape) and cast back to `dtype`."""

    name: str
    start: int
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def width(self) -> int:
        return math.prod(self.shape)


@dataclasses.dataclass(frozen=True)
class ColumnLayout:
    """How arrays lie in a packed matrix: the packed ones (`columns`, in order), the names of
    those passed through unpacked, and the number of leading batch axes."""

    columns: tuple[Column, ...]
    passed_through: tuple[str, ...]
    batch_ndim: int

    @property
    def width(self) -> int:
        """Columns of the packed matrix."""
        return sum(column.width for column in self.columns)


def exact_in_float32(dtype: jax.typing.DTypeLike, vouched_small: bool = False) -> bool:
    """Whether float32 holds every value of `dtype` (for a 32/64-bit integer, only when the
    caller vouches that its values stay below `FLOAT32_EXACT_INT_MAX` in magnitude)."""
    dtype = np.dtype(dtype)
    return dtype in _EXACT_IN_FLOAT32 or (vouched_small and dtype in _VOUCHABLE_INTS)


def column_layout(
    arrays: Mapping[str, Any], batch_ndim: int, small_ints: Collection[str] = ()
) -> ColumnLayout:
    """The layout `pack_columns` gives `arrays` (arrays or `jax.ShapeDtypeStruct`s): each array
    float32 holds exactly is a column, the others pass through.

    Args:
        arrays: name -> `[*batch, *sample_shape]`; every one has the same `batch`.
        batch_ndim: how many leading axes are the batch.
        small_ints: names of integer arrays whose values the caller guarantees are below
            `FLOAT32_EXACT_INT_MAX` in magnitude (packed exactly; other integers pass through).
    """
    if not arrays:
        raise ValueError("pack_columns: pass at least one array.")
    batch_shape = next(iter(arrays.values())).shape[:batch_ndim]
    columns, passed, start = [], [], 0
    for name, array in arrays.items():
        if array.shape[:batch_ndim] != batch_shape:
            raise ValueError(
                f"pack_columns: {name!r} has shape {array.shape}, whose leading {batch_ndim} "
                f"axes are not the batch {batch_shape} of the others; pass arrays of one batch."
            )
        if not exact_in_float32(array.dtype, name in small_ints):
            passed.append(name)
            continue
        column = Column(name, start, tuple(array.shape[batch_ndim:]), np.dtype(array.dtype))
        columns.append(column)
        start += column.width
    return ColumnLayout(tuple(columns), tuple(passed), batch_ndim)


def pack_columns(
    arrays: Mapping[str, jax.Array], layout: ColumnLayout
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """`arrays` as `layout` says: the packed `[*batch, layout.width]` float32 matrix, and the
    arrays passed through (name -> array, unchanged)."""
    batch_shape = next(iter(arrays.values())).shape[: layout.batch_ndim]
    pieces = [
        arrays[column.name].reshape(batch_shape + (column.width,)).astype(jnp.float32)
        for column in layout.columns
    ]
    packed = (
        jnp.concatenate(pieces, axis=-1) if pieces else jnp.zeros(batch_shape + (0,), jnp.float32)
    )
    return packed, {name: arrays[name] for name in layout.passed_through}


def unpack_columns(
    packed: jax.Array, passed_through: Mapping[str, jax.Array], layout: ColumnLayout
) -> dict[str, jax.Array]:
    """The arrays `pack_columns` packed, from `packed` `[*batch, layout.width]` (any leading
    axes: what a scan stacked or a gather picked) and the ones it passed through."""
    batch_shape = packed.shape[:-1]
    arrays = {
        column.name: packed[..., column.start : column.start + column.width]
        .reshape(batch_shape + column.shape)
        .astype(column.dtype)
        for column in layout.columns
    }
    for name in layout.passed_through:
        arrays[name] = passed_through[name]
    return arrays


def scan_packed(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Mapping[str, jax.Array] | None = None,
    *,
    length: int | None = None,
    small_ints: Collection[str] = (),
) -> tuple[Any, Any]:
    """`jax.lax.scan(f, init, xs, length)` where a dict of per-step inputs (`xs`) or outputs
    (what `f` returns) travels as one float32 matrix and the arrays float32 cannot hold
    exactly: one slice and one store per step rather than one per array. Exact.

    `f` sees and returns dicts as plain `lax.scan` would give them; other `xs` and outputs
    (arrays, pytrees) pass as they are. `small_ints` names integer arrays known to be below
    `FLOAT32_EXACT_INT_MAX` in magnitude, which pack too.
    """
    packs_xs = isinstance(xs, Mapping)
    if packs_xs:
        xs_layout = column_layout(xs, _shared_batch_ndim(xs.values()), small_ints)
        xs_step = {
            name: jax.ShapeDtypeStruct(array.shape[1:], array.dtype) for name, array in xs.items()
        }
        xs = pack_columns(xs, xs_layout)
    else:
        xs_step = None if xs is None else jax.tree.map(lambda x: x[0], xs)
    # The body is traced once, here: the outputs' shapes give their layout, and the scan
    # replays the traced program rather than tracing the Python body a second time.
    closed, out_shapes = jax.make_jaxpr(f, return_shape=True)(init, xs_step)
    body, out_tree = jax.extend.core.jaxpr_as_fun(closed), jax.tree.structure(out_shapes)
    ys_step = out_shapes[1]
    packs_ys = isinstance(ys_step, Mapping)
    if packs_ys:
        ys_layout = column_layout(ys_step, _shared_batch_ndim(ys_step.values()), small_ints)

    def step(carry, x):
        x = unpack_columns(*x, xs_layout) if packs_xs else x
        carry, y = jax.tree.unflatten(out_tree, body(*jax.tree.leaves((carry, x))))
        return carry, pack_columns(y, ys_layout) if packs_ys else y

    carry, ys = jax.lax.scan(step, init, xs, length=length)
    return carry, unpack_columns(*ys, ys_layout) if packs_ys else ys


def _shared_batch_ndim(arrays: Collection[Any]) -> int:
    """How many leading axes every one of `arrays` shares (the batch packing keeps)."""
    shapes = [array.shape for array in arrays]
    ndim = 0
    while all(len(shape) > ndim and shape[ndim] == shapes[0][ndim] for shape in shapes):
        ndim += 1
    return ndim


def shuffled_minibatches(
    batch: Mapping[str, jax.Array],
    permutation: jax.Array,
    num_minibatches: int,
    small_ints: Collection[str] = (),
) -> dict[str, jax.Array]:
    """`batch` (leaves `[B, ...]`) in the order of `permutation` `[B]`, cut into
    `num_minibatches`: leaves `[num_minibatches, B / num_minibatches, ...]`, gathered as one
    packed matrix (one gather, not one per array)."""
    layout = column_layout(batch, 1, small_ints)
    packed, passed = pack_columns(batch, layout)
    packed, passed = jax.tree.map(
        lambda leaf: leaf[permutation].reshape((num_minibatches, -1) + leaf.shape[1:]),
        (packed, passed),
    )
    return unpack_columns(packed, passed, layout)


def pack_fields(data: Any) -> jax.Array:
    """`[K]`: the K scalar fields of a dataclass as one array, which a scan stacks with one
    store, not K."""
    return jnp.stack([getattr(data, field.name) for field in dataclasses.fields(data)])


def unpack_fields(cls: type[Tree], packed: jax.Array) -> Tree:
    """`pack_fields`'s inverse: a `cls` whose fields are `packed[..., k]`."""
    names = [field.name for field in dataclasses.fields(cls)]
    return cls(**{name: packed[..., index] for index, name in enumerate(names)})


# Loop carries batched from the start under vmap.


def _zero_bits(anchor: Any) -> jax.Array:
    """A uint32 zero that depends on `anchor`'s first element (any array, PRNG keys included;
    a constant zero for an empty one)."""
    anchor = jnp.asarray(anchor)
    if jnp.issubdtype(anchor.dtype, jax.dtypes.prng_key):
        anchor = jax.random.key_data(anchor)
    if anchor.size == 0:
        return jnp.uint32(0)
    first = jnp.ravel(anchor)[0]
    if first.dtype == jnp.bool_ or jnp.issubdtype(first.dtype, jnp.integer):
        first = first.astype(jnp.uint32)
    elif first.dtype.itemsize != 4:
        first = first.astype(jnp.float32)
    return jnp.bitwise_and(jax.lax.bitcast_convert_type(first, jnp.uint32), jnp.uint32(0))


def batched_from_start(tree: Tree, *anchors: Any) -> Tree:
    """`tree` with unchanged values (bit for bit), each numeric or bool leaf made data-dependent
    on every leaf of `anchors`; other leaves (PRNG keys) pass through.

    `jax.vmap` batches a `lax.scan` by batching its body, and batches it again whenever a carry
    that started unbatched (a constant such as Adam's zero moments or an episode counter from
    `reset`) comes out batched; nested loops inherit the repeat. A loop's initial carries
    passed through here, anchored on what `vmap` maps (the keys, the hyperparameters), are
    batched from the start. XLA folds the added zero away.
    """
    zero = jnp.uint32(0)
    for anchor in jax.tree.leaves(anchors):
        zero = jnp.bitwise_or(zero, _zero_bits(anchor))

    def leaf(value):
        value = jnp.asarray(value)
        if value.dtype == jnp.bool_:
            return jnp.logical_or(value, zero.astype(jnp.bool_))
        if jnp.issubdtype(value.dtype, jnp.number):
            return value - zero.astype(value.dtype)  # x - (+0) is x, -0.0 included
        return value

    return jax.tree.map(leaf, tree)


# Parameters as one vector.


@dataclasses.dataclass(frozen=True)
class FlatParams:
    """A Flax module's parameters as one `[P]` float32 vector, and their initial law.

    One vector makes the optimizer one Adam update of one array instead of one per layer, and
    the initialisation one random draw: both shorten compile time.

    Attributes:
        init_mean, init_scale: `[P]` float32 NumPy: the initial parameters are
            `init_mean + init_scale * normal`.
        unravel: `[P]` vector -> the module's params pytree (static slices and reshapes; its
            gradient is one concatenate, where differentiating the slices would sum one
            zero-padded `[P]` vector per leaf).
    """

    init_mean: np.ndarray
    init_scale: np.ndarray
    unravel: Callable[[jax.Array], Any]

    @property
    def size(self) -> int:
        return self.init_mean.shape[0]

    def init_from_bits(self, bits: jax.Array) -> jax.Array:
        """Initial parameters `[P]` from `[P]` uint32 random words."""
        noise = numerics.normal_from_bits(bits)
        return jnp.asarray(self.init_mean) + jnp.asarray(self.init_scale) * noise


def flat_params(
    module: Any,
    example_input: jax.ShapeDtypeStruct,
    law: Callable[[tuple[str, ...], tuple[int, ...]], tuple[float, float]],
) -> FlatParams:
    """`module`'s parameters as a `FlatParams`, each leaf's initial law `law(path, shape) ->
    (mean, scale)` (a normal). Host-side only: shapes come from `jax.eval_shape`, so it runs no
    XLA program and may be called while tracing."""
    # The key is made inside the abstract evaluation: a concrete one would compile a program.
    abstract = jax.eval_shape(lambda x: module.init(jax.random.key(0), x), example_input)
    paths_and_leaves, treedef = jax.tree_util.tree_flatten_with_path(abstract)
    means, scales, shapes, sizes = [], [], [], []
    for path, leaf in paths_and_leaves:
        names = tuple(str(getattr(entry, "key", "")) for entry in path)
        mean, scale = law(names, leaf.shape)
        size = math.prod(leaf.shape)
        means.append(np.full(size, mean, np.float32))
        scales.append(np.full(size, scale, np.float32))
        shapes.append(leaf.shape)
        sizes.append(size)
    offsets = np.cumsum([0] + sizes).tolist()

    @jax.custom_vjp
    def unravel(flat: jax.Array) -> Any:
        leaves = [
            flat[start:stop].reshape(shape)
            for start, stop, shape in zip(offsets[:-1], offsets[1:], shapes, strict=True)
        ]
        return jax.tree.unflatten(treedef, leaves)

    def unravel_forward(flat):
        return unravel(flat), None

    def unravel_backward(_, cotangents):
        return (jnp.concatenate([leaf.reshape(-1) for leaf in jax.tree.leaves(cotangents)]),)

    unravel.defvjp(unravel_forward, unravel_backward)
    return FlatParams(np.concatenate(means), np.concatenate(scales), unravel)
