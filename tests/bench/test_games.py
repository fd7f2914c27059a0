"""jaxrl.bench.games: the legal-move sampler, and a tiny run of both games against pgx whose
table is printed (no timing is asserted: the machine is shared)."""

import argparse
import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.bench import games


def test_random_legal_moves_are_uniform_over_the_legal_ones():
    mask = jnp.asarray([[True, False, True, False, True], [False, False, False, True, False]])
    mask = jnp.tile(mask, (2000, 1))
    moves = np.asarray(games.random_legal_moves(jax.random.key(0), mask))
    first, second = moves[0::2], moves[1::2]
    assert set(second) == {3}
    counts = np.bincount(first, minlength=5)
    assert counts[1] == counts[3] == 0
    np.testing.assert_allclose(counts[[0, 2, 4]] / len(first), 1 / 3, atol=0.04)


def test_settings_refuse_bad_input_in_one_line():
    with pytest.raises(ValueError, match="unknown games \\['Chess-v0'\\]"):
        games.Settings(games=("Chess-v0",))
    with pytest.raises(ValueError, match="repeats=0"):
        games.Settings(repeats=0)
    args = argparse.Namespace(
        quick=True, games=None, num_envs=None, steps=None, max_scan_length=None, repeats=None
    )
    args.seed = 0
    quick = games.settings_from_args(args)
    assert quick.games == games.QUICK_GAMES and quick.num_envs == games.QUICK_NUM_ENVS


def test_a_tiny_run_has_every_figure_and_ratio(capsys):
    settings = games.Settings(num_envs=(4,), steps=64, repeats=1, quick=True)
    section = games.run(settings)
    table = games.markdown(section)
    print(table)
    assert [(row["game"], row["num_envs"]) for row in section["results"]] == [
        ("TicTacToe-v0", 4),
        ("ConnectFour-v0", 4),
    ]
    # pgx is the bench extra: without it the run is jaxrl's figures alone, with a note.
    with_pgx = importlib.util.find_spec("pgx") is not None
    expected = set(games.CONTESTANTS) if with_pgx else {"jaxrl_a", "jaxrl_b"}
    for row in section["results"]:
        assert set(row["figures"]) == expected
        assert all(figure["steps_per_s"] > 0 for figure in row["figures"].values())
        ratios = list(row["ratios"].values())
        assert all(value > 0 for value in ratios) if with_pgx else ratios == [None, None]
    assert section["cpu"] in table
    assert ("pgx skipped" in table) != with_pgx
