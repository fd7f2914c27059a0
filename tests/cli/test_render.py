"""`jaxrl render`: frames drawn in chunks equal one call, and a long episode's GIF stays small in
memory (peak RSS, in a fresh process as the command runs)."""

from __future__ import annotations

import subprocess
import sys

import jax
import numpy as np
import pytest
from PIL import Image

from jaxrl import envs
from jaxrl.cli import rendering

#: Peak RSS of `jaxrl render` on a 500-frame, 500 x 500 GIF: JAX and its compiled programs, one
#: chunk of frames being drawn, and PIL's 8-bit copy of every frame (250 KB each) until the file
#: is written. One vmapped call for every frame took 2.2 GB.
MAX_RSS_BYTES = 1 << 30

# The command in a fresh process, reporting its own peak RSS in MiB (`peak_rss_mib`: not
# `ru_maxrss`, which a child inherits from the test process across fork and exec).
_RENDER = """
import sys
from jaxrl.cli import main
from jaxrl.machine import peak_rss_mib
status = main(sys.argv[1:])
print(peak_rss_mib())
sys.exit(status)
"""


def test_frames_drawn_in_chunks_equal_one_call():
    env, env_params = envs.make("CartPole-v1")
    policy = rendering.random_policy(env, env_params)
    key = jax.random.key(3)
    # 11 frames in chunks of 4: the last chunk is padded, and cut.
    chunked, num_frames, total = rendering.render_episode(
        env, env_params, policy, key, max_steps=10, frames_per_call=4
    )
    whole, whole_frames, whole_total = rendering.render_episode(
        env, env_params, policy, key, max_steps=10, frames_per_call=num_frames
    )
    chunked, whole = np.stack(list(chunked)), np.stack(list(whole))
    assert (num_frames, total) == (whole_frames, whole_total)
    assert chunked.shape == (num_frames, 400, 600, 3) and chunked.dtype == np.uint8
    np.testing.assert_array_equal(chunked, whole)


@pytest.mark.slow  # a 500-frame render in a fresh process
def test_a_500_frame_gif_takes_under_1_gib(tmp_path):
    gif = tmp_path / "acrobot.gif"
    # Random actions never swing Acrobot up: 499 steps, the reset state and each step's state.
    args = ["render", "Acrobot-v1", "--max-steps", "499", "--out", str(gif), "--no-compile-cache"]
    result = subprocess.run(
        [sys.executable, "-c", _RENDER, *args], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    summary, peak = result.stdout.strip().splitlines()[-2:]
    assert summary.startswith(f"{gif}: 500 frames of random actions on Acrobot-v1")
    assert float(peak) * 2**20 < MAX_RSS_BYTES, f"peak RSS {float(peak):.0f} MiB"
    with Image.open(gif) as image:
        assert image.n_frames == 500 and image.size == (500, 500)
