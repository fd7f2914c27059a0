"""Checkpoints of whole training states: any pytree of arrays (PRNG keys included) in one file.

The file is msgpack (`flax.serialization`): the state's leaves as NumPy arrays, its tree
structure, and a small JSON-able metadata dict. It is written atomically (temp file + rename),
so an interrupted save leaves the previous checkpoint intact. Loading checks the file against a
template of the expected state (shapes, dtypes, structure) and says in one line what is wrong.

>>> save_checkpoint(run_dir / "checkpoint.msgpack", runner, {"update": 40})
>>> runner, metadata = load_checkpoint(run_dir / "checkpoint.msgpack", jax.eval_shape(init, keys))
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import serialization

from jaxrl.files import write_atomically

FORMAT = "jaxrl-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or does not fit the expected state."""


def save_checkpoint(path: str | os.PathLike, state: Any, metadata: dict[str, Any]) -> None:
    """Writes `state` (arrays, possibly sharded over devices or hosts) and `metadata` to `path`.

    On several hosts every process must call it (the state is gathered across them); process 0
    writes the file.

    Args:
        path: the file to write; its folder is created. Written atomically.
        state: a pytree of arrays; PRNG key arrays are stored as their raw key data.
        metadata: JSON-able facts to keep beside the state (update index, wall time, ...).
    """
    from jaxrl.distributed import gather  # whole arrays in every process, keys as key data

    leaves, treedef = jax.tree.flatten(gather(state))
    if jax.process_index() != 0:
        return
    payload = {
        "format": FORMAT,
        "metadata": json.dumps(metadata),
        "treedef": str(treedef),
        "leaves": {str(i): np.asarray(leaf) for i, leaf in enumerate(leaves)},
    }
    write_atomically(path, serialization.msgpack_serialize(payload))


def load_checkpoint(path: str | os.PathLike, template: Any) -> tuple[Any, dict[str, Any]]:
    """Reads a checkpoint written by `save_checkpoint` into the shape of `template`.

    Args:
        path: the checkpoint file.
        template: a pytree with the expected structure, shapes and dtypes: arrays or
            `jax.ShapeDtypeStruct`s (e.g. `jax.eval_shape` of the function that built the state).

    Returns:
        The state (jax arrays, PRNG keys as typed keys again) and the metadata dict.

    Raises:
        CheckpointError: the file is missing, is not a jaxrl checkpoint, or holds a state of
            another structure, shape or dtype (e.g. from another config).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: train first, or point at a run folder.")
    try:
        payload = serialization.msgpack_restore(path.read_bytes())
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError("not a jaxrl checkpoint")
        metadata = json.loads(payload["metadata"])
        stored = payload["leaves"]
        leaves = [np.asarray(stored[str(i)]) for i in range(len(stored))]
    except Exception as error:  # msgpack raises many types on a damaged file
        raise CheckpointError(
            f"{path} is not a readable jaxrl checkpoint ({type(error).__name__}: {error}); "
            "delete it to start over, or restore it from a copy."
        ) from None
    template_leaves, treedef = jax.tree.flatten(template)
    if len(leaves) != len(template_leaves) or payload["treedef"] != str(
        jax.tree.structure(jax.tree.map(_stored_form, template))
    ):
        raise CheckpointError(
            f"{path} holds a state of another structure ({len(leaves)} arrays, expected "
            f"{len(template_leaves)}): it was written by another config or version."
        )
    restored = []
    for index, (leaf, expected) in enumerate(zip(leaves, template_leaves, strict=True)):
        stored_form = _stored_form(expected)
        if leaf.shape != stored_form.shape or leaf.dtype != stored_form.dtype:
            raise CheckpointError(
                f"{path}: array {index} is {leaf.dtype}{list(leaf.shape)}, expected "
                f"{stored_form.dtype}{list(stored_form.shape)}: it was written by another config."
            )
        if _is_key(expected):
            # A template from eval_shape carries no key implementation: use the default one.
            impl = jax.random.key_impl(expected) if isinstance(expected, jax.Array) else None
            restored.append(jax.random.wrap_key_data(leaf, impl=impl))
        else:
            restored.append(jax.numpy.asarray(leaf))
    return jax.tree.unflatten(treedef, restored), metadata


def _is_key(leaf: Any) -> bool:
    return jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _stored_form(leaf: Any) -> jax.ShapeDtypeStruct:
    """What `save_checkpoint` stores for a leaf: its key data for a PRNG key."""
    if _is_key(leaf):
        return jax.eval_shape(jax.random.key_data, leaf)
    return jax.ShapeDtypeStruct(np.shape(leaf), leaf.dtype)
