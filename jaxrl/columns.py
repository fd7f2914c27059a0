"""Several per-sample arrays as the columns of one float32 matrix, and back.

XLA's CPU runtime launches one kernel per array that a loop stacks, gathers or slices: a
rollout step that stores ten transition fields into ten stacked outputs launches ten
dynamic-update-slices, a shuffle of six batch fields six gathers. Each is a tiny task for the
runtime's dataflow executor, and when more than eight wait besides the one it runs it hands half to
its other thread; on a 2-core CPU the loop then hops between threads every step and runs ~25%
slower on 1.5x the CPU time (README, "thread hopping"). Packed into one matrix, the store, the
gather and the slice are one kernel each.

Packing is exact: a leaf is packed only when float32 holds every value it can take (float32 and
narrower floats, bool, 8- and 16-bit integers, and 32-bit integers the caller vouches for as
smaller than 2**24 in magnitude, such as sampled action indices); other leaves pass through
unpacked.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping

import jax
import jax.numpy as jnp
import numpy as np

#: Integers up to this magnitude are exact in float32.
FLOAT32_EXACT_INT_MAX = 1 << 24

_EXACT_IN_FLOAT32 = frozenset(
    np.dtype(name) for name in ("float32", "float16", "bool", "int8", "int16", "uint8", "uint16")
) | {np.dtype(jnp.bfloat16)}
_VOUCHABLE_INTS = frozenset(np.dtype(name) for name in ("int32", "uint32", "int64", "uint64"))


@dataclasses.dataclass(frozen=True)
class Column:
    """Where one packed leaf lies: columns `start : start + width` of the last axis, reshaped to
    `shape` (its per-sample shape) and cast back to `dtype`."""

    name: str
    start: int
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def width(self) -> int:
        return math.prod(self.shape)


@dataclasses.dataclass(frozen=True)
class ColumnLayout:
    """How `pack_columns` laid its arrays out: the packed ones (`columns`, in order), the names of
    the ones passed through, and the number of leading batch axes."""

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


def pack_columns(
    arrays: Mapping[str, jax.Array], batch_ndim: int, small_ints: Collection[str] = ()
) -> tuple[jax.Array, dict[str, jax.Array], ColumnLayout]:
    """Packs `arrays` that share their leading `batch_ndim` axes into one float32 matrix.

    Args:
        arrays: name -> array `[*batch, *sample_shape]`; every array has the same `batch`.
        batch_ndim: how many leading axes are the batch.
        small_ints: names of integer arrays whose values the caller guarantees are below
            `FLOAT32_EXACT_INT_MAX` in magnitude (packed exactly; others pass through).

    Returns:
        The packed `[*batch, layout.width]` float32 matrix, the arrays that float32 would not
        hold exactly (name -> array, unchanged), and the layout `unpack_columns` needs.
    """
    if not arrays:
        raise ValueError("pack_columns: pass at least one array.")
    batch_shape = next(iter(arrays.values())).shape[:batch_ndim]
    columns, pieces, passed = [], [], {}
    start = 0
    for name, array in arrays.items():
        if array.shape[:batch_ndim] != batch_shape:
            raise ValueError(
                f"pack_columns: {name!r} has shape {array.shape}, whose leading {batch_ndim} "
                f"axes are not the batch {batch_shape} of the others; pass arrays of one batch."
            )
        if not exact_in_float32(array.dtype, name in small_ints):
            passed[name] = array
            continue
        column = Column(name, start, tuple(array.shape[batch_ndim:]), np.dtype(array.dtype))
        columns.append(column)
        pieces.append(array.reshape(batch_shape + (column.width,)).astype(jnp.float32))
        start += column.width
    packed = (
        jnp.concatenate(pieces, axis=-1) if pieces else jnp.zeros(batch_shape + (0,), jnp.float32)
    )
    return packed, passed, ColumnLayout(tuple(columns), tuple(passed), batch_ndim)


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
