"""Renderers: every registered env draws a uint8 frame of its documented size that follows the
state, jit == eager, vmap == loop; geometry checked pixel by pixel (CartPole's pole and cart,
the MountainCar wheels and flag, Pendulum's rod, Acrobot's links and target line, GridWorld's
agent and cells); Gymnasium's own pictures where pygame is installed; the primitives on tiny
canvases; the gymnax adapter's image observations."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.envs import gridworld, rendering
from tests.params import registry_params

# (height, width) of each registered env's frame: Gymnasium's screens for classic control,
# 32 pixels a cell for the grids.
FRAME_SIZES = {
    "CartPole-v1": (400, 600),
    "MountainCar-v0": (400, 600),
    "MountainCarContinuous-v0": (400, 600),
    "Pendulum-v1": (500, 500),
    "Acrobot-v1": (500, 500),
    "GridWorld-OpenRoom-v0": (5 * 32, 5 * 32),
    "GridWorld-FourRooms-v0": (13 * 32, 13 * 32),
    "GridWorld-CliffWalking-v0": (4 * 32, 12 * 32),
    "TicTacToe-v0": (3 * 48, 3 * 48),
    "ConnectFour-v0": (6 * 32, 7 * 32),
}

# Gymnasium's colours.
POLE = (202, 152, 101)
WHEEL = (128, 128, 128)
FLAG = (204, 204, 0)
ROD = (204, 77, 77)
LINK = (0, 204, 204)

# Three poses per classic-control env and game: state fields and their values.
POSES = {
    "CartPole-v1": {"x": [-1.0, 0.0, 1.5], "theta": [0.1, -0.2, 0.0]},
    "MountainCar-v0": {"position": [-1.1, -0.5, 0.4]},
    "MountainCarContinuous-v0": {"position": [-1.1, -0.5, 0.4]},
    "Pendulum-v1": {"th": [0.0, 1.0, -2.5]},
    "Acrobot-v1": {"theta1": [0.0, 1.0, -2.0], "theta2": [0.5, -1.0, 2.0]},
    # Games: three boards (0 empty, 1 player 0's piece, 2 player 1's).
    "TicTacToe-v0": {
        "board": [
            [[1, 0, 0], [0, 0, 0], [0, 0, 0]],
            [[1, 0, 0], [0, 2, 0], [0, 0, 0]],
            [[1, 0, 1], [0, 2, 0], [2, 0, 0]],
        ]
    },
    "ConnectFour-v0": {
        "board": [
            [[0] * 7] * 5 + [[0, 0, 0, 1, 0, 0, 0]],
            [[0] * 7] * 5 + [[0, 0, 2, 1, 0, 0, 0]],
            [[0] * 7] * 4 + [[0, 0, 0, 1, 0, 0, 0], [0, 0, 2, 1, 2, 0, 0]],
        ]
    },
}


@functools.cache
def _compiled(env_id):
    """(env, params, reset state, jit(render), jit(vmap(render))), shared by the tests so each
    env compiles its renderer once."""
    env, params = envs.make(env_id)
    _, state = env.reset(jax.random.key(0), params)
    batched = jax.jit(jax.vmap(env.render, in_axes=(0, None)))
    return env, params, state, jax.jit(env.render), batched


def _batch(state, fields, size=2):
    """`state` repeated along a new leading axis, with `fields` (name -> values) set; `size`
    copies when `fields` is empty."""
    size = len(next(iter(fields.values()))) if fields else size
    batched = jax.tree.map(lambda leaf: jnp.stack([leaf] * size), state)
    return batched.replace(
        **{name: jnp.asarray(values, getattr(state, name).dtype) for name, values in fields.items()}
    )


def _posed_states(env_id):
    """Three distinct states, batched: `POSES` for classic control and games, the first three
    empty cells of a GridWorld's layout."""
    env, params, state, _, _ = _compiled(env_id)
    if isinstance(env, gridworld.GridWorld):
        rows, cols = np.nonzero(np.asarray(params.layout) == gridworld.EMPTY)
        return _batch(state, {"row": rows[:3], "col": cols[:3]})
    if env_id not in POSES:
        pytest.fail(f"{env_id} has no poses: add three to POSES in this file.")
    return _batch(state, POSES[env_id])


def _at(tree, i):
    return jax.tree.map(lambda leaf: leaf[i], tree)


def _pixels_of(frame, color):
    """(rows, cols) of the pixels that have exactly `color`."""
    return np.nonzero(np.all(np.asarray(frame) == np.asarray(color, np.uint8), axis=-1))


def _assert_nearly_equal(frame, expected):
    """Equal but for a few anti-aliased edge pixels a rounding apart: fused and op-by-op
    arithmetic may round differently."""
    difference = np.abs(np.asarray(frame, int) - np.asarray(expected, int))
    assert difference.max() <= 1 and np.mean(difference > 0) < 1e-3


@pytest.mark.parametrize("env_id", registry_params())
def test_frames_have_their_size_follow_the_state_and_compile(env_id):
    env, params, _, render, render_batch = _compiled(env_id)
    states = _posed_states(env_id)
    first = _at(states, 0)
    eager = env.render(first, params)
    height, width = FRAME_SIZES[env_id]
    assert eager.shape == (height, width, 3) and eager.dtype == jnp.uint8
    pixels = np.asarray(eager).reshape(-1, 3)
    colors, counts = np.unique(pixels, axis=0, return_counts=True)
    # Not blank: something other than the background covers a visible share of the frame.
    assert len(colors) >= 2 and counts.max() <= 0.995 * len(pixels)
    _assert_nearly_equal(render(first, params), eager)
    batch = render_batch(states, params)
    assert batch.shape == (3, height, width, 3) and batch.dtype == jnp.uint8
    for i in range(3):
        _assert_nearly_equal(batch[i], render(_at(states, i), params))
    # Different states, different pictures.
    assert not np.array_equal(batch[0], batch[1])
    assert not np.array_equal(batch[1], batch[2])


def test_cartpole_pole_stands_above_the_cart_and_the_cart_follows_x():
    _, params, state, render, render_batch = _compiled("CartPole-v1")
    upright = state.replace(x=jnp.float32(0.0), theta=jnp.float32(0.0))
    frame = np.asarray(render(upright, params))
    rows, cols = _pixels_of(frame, POLE)
    # 125 pixels a metre; the cart's centre is 100 pixels above the bottom (row 300), the axle
    # 7.5 higher; the pole is 10 wide, from 5 below the axle to 120 above it.
    assert cols.min() == 295 and cols.max() == 304 and rows.max() < 300
    # Its top edge, y = 100 + 7.5 + 120 = 227.5, halves row 172 (centre y = 227.5).
    assert rows.min() == 173
    half_covered = np.broadcast_to(127.5 + np.array(POLE) / 2, (10, 3))
    np.testing.assert_allclose(frame[172, 295:305], half_covered, atol=1)

    frames = render_batch(_batch(state, {"x": [0.0, 1.0, -1.0], "theta": [0.0, 0.0, 0.2]}), params)
    for frame, x in zip(frames, [0.0, 1.0, -1.0], strict=True):
        rows, cols = _pixels_of(frame, (0, 0, 0))
        body = rows != 299  # the track's row
        np.testing.assert_allclose(cols[body].mean() + 0.5, 300 + 125 * x, atol=0.5)
    top_rows, top_cols = _pixels_of(frames[2], POLE)
    # A positive angle leans the pole towards +x: its top is right of the axle, at x = -1.
    top = top_cols[top_rows == top_rows.min()].mean()
    assert top > 300 - 125 + 0.8 * 120 * math.sin(0.2)


@pytest.mark.parametrize("env_id", ["MountainCar-v0", "MountainCarContinuous-v0"])
def test_mountain_car_wheels_ride_the_hill_and_the_flag_marks_the_goal(env_id):
    _, params, state, _, render_batch = _compiled(env_id)
    scale = 600 / 1.8
    positions = [-1.0, -0.5, 0.3]
    frames = np.asarray(render_batch(_batch(state, {"position": positions}), params))
    for frame, position in zip(frames, positions, strict=True):
        # The wheels' midpoint is the car's base: above the hill by the clearance, 10 pixels.
        base_x = (position + 1.2) * scale
        base_y = 10 + (0.45 * math.sin(3 * position) + 0.55) * scale
        rows, cols = _pixels_of(frame, WHEEL)
        # Anti-aliased black on white is this grey too, where a pixel is half covered.
        near = np.hypot(cols + 0.5 - base_x, rows + 0.5 - (400 - base_y)) < 25
        assert np.sum(near) > 2 * math.pi * 7**2
        np.testing.assert_allclose(cols[near].mean() + 0.5, base_x, atol=0.3)
        np.testing.assert_allclose(rows[near].mean() + 0.5, 400 - base_y, atol=0.3)
    # The flag: a triangle 25 pixels wide and 10 high, its top 50 pixels above the hill.
    rows, cols = _pixels_of(frames[0], FLAG)
    flag_x = (params.goal_position + 1.2) * scale
    flag_top = (0.45 * math.sin(3 * params.goal_position) + 0.55) * scale + 50
    screen_y = 400 - rows - 0.5
    assert cols.min() + 0.5 >= flag_x and cols.max() + 0.5 <= flag_x + 25
    assert screen_y.max() <= flag_top and screen_y.min() >= flag_top - 10
    assert 0.6 * 125 <= len(rows) <= 125


def test_pendulum_rod_points_up_at_zero_and_turns_counterclockwise():
    _, params, state, _, render_batch = _compiled("Pendulum-v1")
    scale = 500 / 4.4
    upright, quarter, _ = render_batch(_batch(state, {"th": [0.0, math.pi / 2, 0.0]}), params)
    rows, cols = _pixels_of(upright, ROD)
    assert rows.mean() < 250 - 40 and abs(cols.mean() + 0.5 - 250) < 0.1
    # The rod, one unit long, and its end cap (radius 0.1 units) above the pivot.
    assert abs((250 - rows.min()) - 1.1 * scale) <= 1
    rows, cols = _pixels_of(quarter, ROD)
    assert abs((250 - cols.min()) - 1.1 * scale) <= 1 and abs(rows.mean() + 0.5 - 250) < 0.1


def test_acrobot_links_hang_down_and_the_target_line_is_one_link_above():
    _, params, state, _, render_batch = _compiled("Acrobot-v1")
    scale = 500 / 4.4
    # Zero angles; then theta1 = pi/2 (first link to the right) with theta2 = -pi/2 (the
    # second turned back to point down).
    poses = {"theta1": [0.0, math.pi / 2, 0.0], "theta2": [0.0, -math.pi / 2, 0.0]}
    hanging, bent, _ = np.asarray(render_batch(_batch(state, poses), params))
    rows, cols = _pixels_of(hanging, LINK)
    assert rows.min() >= 250 and abs(cols.mean() + 0.5 - 250) < 0.1
    # The second link's flat end, 2 units below the pivot, ends the fully covered rows.
    assert rows.max() == math.floor(500 - 1 - (250 - 2 * scale))
    # The target line: one black row, where pygame draws y = 250 + 1 unit.
    line_rows = np.nonzero(np.all(hanging == 0, axis=(1, 2)))[0]
    np.testing.assert_array_equal(line_rows, [500 - 1 - math.floor(250 + scale)])
    rows, cols = _pixels_of(bent, LINK)
    assert cols.min() >= 250 - 0.1 * scale - 1
    assert abs(cols.max() + 1 - (250 + scale + 0.1 * scale)) <= 1
    assert rows.min() >= 250 - 0.1 * scale - 1 and abs(rows.max() + 1 - (250 + scale)) <= 1


@pytest.mark.parametrize("env_id", ["GridWorld-FourRooms-v0", "GridWorld-CliffWalking-v0"])
def test_gridworld_agent_sits_in_its_cell_and_cells_take_their_colours(env_id):
    env, params, state, render, _ = _compiled(env_id)
    layout = np.asarray(params.layout)
    free = np.argwhere(layout != gridworld.WALL)
    cells = free[np.random.default_rng(0).choice(len(free), 6, replace=False)]
    states = _batch(state, {"row": cells[:, 0], "col": cells[:, 1]})
    frames = np.asarray(jax.vmap(render, in_axes=(0, None))(states, params))
    positions = np.asarray(env.position(states))
    cell = env.cell_pixels
    for frame, (row, col) in zip(frames, positions, strict=True):
        rows, cols = _pixels_of(frame, gridworld.AGENT_COLOR)
        assert len(rows) > 0.3 * cell**2
        assert rows.min() >= row * cell and rows.max() < (row + 1) * cell
        assert cols.min() >= col * cell and cols.max() < (col + 1) * cell
    # Away from the agent and the grid lines, a cell's pixels have its code's colour.
    for row, col in np.ndindex(layout.shape):
        if (row, col) != tuple(positions[0]):
            pixel = frames[0][row * cell + 3, col * cell + 3]
            np.testing.assert_array_equal(pixel, gridworld.CELL_COLORS[layout[row, col]])


def _dilate(mask):
    """`mask` grown by one pixel in all eight directions."""
    padded = np.pad(mask, 1)
    shifted = [np.roll(padded, (dr, dc), (0, 1)) for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
    return np.any(shifted, axis=0)[1:-1, 1:-1]


# (id, jaxrl state fields, Gymnasium's state vector): poses away from the defaults.
GYMNASIUM_POSES = [
    ("CartPole-v1", {"x": 0.8, "theta": 0.2}, [0.8, 0.0, 0.2, 0.0]),
    ("CartPole-v1", {"x": -1.5, "theta": -0.15}, [-1.5, 0.0, -0.15, 0.0]),
    ("MountainCar-v0", {"position": -0.9}, [-0.9, 0.0]),
    ("MountainCarContinuous-v0", {"position": 0.2}, [0.2, 0.0]),
    ("Pendulum-v1", {"th": 0.7}, [0.7, 0.0]),
    ("Pendulum-v1", {"th": 2.5}, [2.5, 0.0]),
    ("Acrobot-v1", {"theta1": 0.6, "theta2": 1.0}, [0.6, 1.0, 0.0, 0.0]),
    ("Acrobot-v1", {"theta1": -2.0, "theta2": 0.5}, [-2.0, 0.5, 0.0, 0.0]),
]


@pytest.mark.parametrize("env_id, fields, gym_state", GYMNASIUM_POSES)
def test_frames_match_gymnasiums_pictures(env_id, fields, gym_state):
    """Every drawn pixel lies within a pixel of one Gymnasium draws, and the other way round
    (Gymnasium's 1-pixel hill is drawn 2 pixels wide here), and most pixels are equal."""
    import gymnasium  # the test extra's; it draws with pygame (gymnasium[classic-control])

    _, params, state, render, _ = _compiled(env_id)
    state = state.replace(**{name: jnp.float32(value) for name, value in fields.items()})
    ours = np.asarray(render(state, params))
    gym = gymnasium.make(env_id, render_mode="rgb_array").unwrapped
    gym.reset(seed=0)
    gym.state = np.asarray(gym_state, np.float64)
    reference = gym.render()
    gym.close()
    assert reference.shape == ours.shape
    drawn, drawn_reference = np.any(ours < 128, -1), np.any(reference < 128, -1)
    assert np.mean(_dilate(drawn_reference)[drawn]) > 0.99
    assert np.mean(_dilate(drawn)[drawn_reference]) > 0.99
    assert np.mean(np.all(ours == reference, -1)) > 0.98


@jax.jit
def _primitive_frames():
    """Small pictures of each primitive, compiled together: uint8 `[6, 6, 3]` each, rows down."""
    black = rendering.canvas(6, 6, rendering.BLACK)
    red = (255, 0, 0)
    return {
        # x in [1, 3], y in [1, 2]: columns 1 and 2 of row 4 (rows count down from the top).
        "rectangle": rendering.fill_rectangle(black, (2.0, 1.5), (2.0, 1.0), red),
        "aliased": rendering.fill_rectangle(black, (2.0, 1.5), (2.0, 1.0), red, antialias=False),
        # The same rectangle turned a quarter about (2.5, 2): x in [2, 3], y in [1, 3].
        "turned": rendering.fill_rectangle(black, (2.5, 2.0), (2.0, 1.0), red, math.pi / 2),
        # One pixel wide along the row of centres y = 1.5, x from 1 to 4: flat ends.
        "segment": rendering.fill_segment(black, (1.0, 1.5), (4.0, 1.5), 1.0, red),
        # Round caps reach half a width past the ends; joined segments leave no gap.
        "polyline": rendering.draw_polyline(
            black, jnp.array([[0.5, 1.5], [2.5, 1.5], [5.5, 1.5]]), 1.0, red
        ),
        # Between pixel centres of row 2: round caps cover the end pixels, flat ones halve them.
        "round_caps": rendering.fill_segment(black, (1.5, 3.5), (3.5, 3.5), 1.0, red, True),
        "flat_caps": rendering.fill_segment(black, (1.5, 3.5), (3.5, 3.5), 1.0, red),
        # A right triangle with pixel-aligned legs, either winding.
        "triangle": rendering.fill_convex_polygon(
            black, jnp.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]]), red
        ),
        "triangle_cw": rendering.fill_convex_polygon(
            black, jnp.array([[0.0, 4.0], [4.0, 0.0], [0.0, 0.0]]), red
        ),
    }


def test_primitives_cover_exactly_their_pixels():
    frames = {name: np.asarray(rendering.to_uint8(f)) for name, f in _primitive_frames().items()}
    expected = {name: np.zeros((6, 6), bool) for name in frames}
    expected["rectangle"][4, 1:3] = expected["aliased"][4, 1:3] = True
    expected["turned"][3:5, 2] = True
    expected["segment"][4, 1:4] = True
    expected["polyline"][4, :] = True
    expected["round_caps"][2, 1:4] = True
    for name, frame in frames.items():
        if name.startswith("triangle") or name == "flat_caps":
            continue
        np.testing.assert_array_equal(frame[..., 0] == 255, expected[name], err_msg=name)
        np.testing.assert_array_equal(frame[..., 0] == 0, ~expected[name], err_msg=name)
    np.testing.assert_array_equal(frames["flat_caps"][2, :, 0], [0, 128, 255, 128, 0, 0])
    np.testing.assert_array_equal(frames["triangle"], frames["triangle_cw"])
    covered = frames["triangle"][..., 0] / 255.0
    # Area 8: the pixels below the diagonal fully, those it crosses by half.
    np.testing.assert_allclose(covered.sum(), 8.0, atol=0.05)
    full = np.array([[r, c] for r in range(6) for c in range(6) if c + (5 - r) <= 2])
    assert np.all(covered[full[:, 0], full[:, 1]] == 1.0)
    assert covered[2, 0] == covered[5, 3] == pytest.approx(0.5, abs=0.01)


def test_coverage_matches_the_areas_of_discs_polylines_and_polygons():
    @jax.jit
    def areas():
        x, y = rendering.pixel_centres(64, 64)
        points = jnp.array([[8.0, 8.0], [32.0, 32.0], [56.0, 8.0]])
        disc = rendering.coverage(rendering.sd_circle(x, y, (30.3, 33.7), 10.0))
        distance = jnp.hypot(x - 30.3, y - 33.7)
        triangle = jnp.array([[10.0, 10.0], [50.0, 14.0], [20.0, 50.0]])
        return {
            "polyline": jnp.sum(rendering.coverage(rendering.sd_polyline(x, y, points, 3.0))),
            "disc": jnp.sum(disc),
            "disc_inside": jnp.min(jnp.where(distance < 9.5, disc, 1.0)),
            "disc_outside": jnp.max(jnp.where(distance > 10.5, disc, 0.0)),
            "triangle": jnp.sum(rendering.coverage(rendering.sd_convex_polygon(x, y, triangle))),
        }

    result = areas()
    np.testing.assert_allclose(
        result["polyline"], 2 * math.hypot(24, 24) * 3 + 1.5**2 * math.pi, rtol=0.02
    )
    np.testing.assert_allclose(result["disc"], math.pi * 10**2, rtol=0.005)
    assert result["disc_inside"] == 1.0 and result["disc_outside"] == 0.0
    np.testing.assert_allclose(result["triangle"], 0.5 * abs(40 * 40 - 4 * 10), rtol=0.01)


def test_transforms_and_to_uint8():
    @jax.jit
    def transformed():
        return {
            "screen": rendering.world_to_screen(
                jnp.array([[0.0, 0.0], [1.0, -0.5]]), 100.0, (300.0, 200.0)
            ),
            "pixel": rendering.screen_to_pixel(jnp.array([3.5, 1.5]), 4),
            "rotated": rendering.rotate(jnp.array([1.0, 0.0]), math.pi / 2),
            "uint8": rendering.to_uint8(
                jnp.broadcast_to(
                    jnp.array([-3.0, 0.4, 0.6, 254.5, 300.0])[None, :, None], (1, 5, 3)
                )
            ),
        }

    result = transformed()
    np.testing.assert_allclose(result["screen"], [[300.0, 200.0], [400.0, 150.0]])
    # A pixel centre maps back to its (row, col) + 0.5.
    np.testing.assert_allclose(result["pixel"], [2.5, 3.5])
    np.testing.assert_allclose(result["rotated"], [0.0, 1.0], atol=1e-7)
    # Rounded half to even, clipped.
    np.testing.assert_array_equal(result["uint8"][0, :, 0], [0, 0, 1, 254, 255])


def test_renders_under_x64():
    _, params, state, render, _ = _compiled("Pendulum-v1")
    state = state.replace(th=jnp.float32(0.3))
    frame = render(state, params)
    with jax.enable_x64(True):
        state64 = jax.tree.map(lambda leaf: jnp.asarray(leaf, jnp.float64), state)
        frame64 = render(state64, params)
    assert frame64.dtype == jnp.uint8
    _assert_nearly_equal(frame64, frame)


def test_environments_without_a_renderer_say_so():
    class Bare(envs.Environment):
        pass

    with pytest.raises(NotImplementedError, match="Bare has no renderer"):
        Bare().render(None)


def test_gymnax_image_observations_are_drawn_and_vector_ones_raise():
    env, params = envs.make("gymnax:Catch-bsuite")
    _, state = env.reset(jax.random.key(0), params)
    frame = np.asarray(env.render(state, params))
    cell = env.render_cell_pixels
    assert cell == 25 and frame.shape == (10 * cell, 5 * cell, 3) and frame.dtype == np.uint8
    # Greys: the ball and the paddle black on white, a cell each.
    rows, cols = _pixels_of(frame, (0, 0, 0))
    cells = {(r // cell, c // cell) for r, c in zip(rows, cols, strict=True)}
    ball = (int(state.gymnax_state.ball_y), int(state.gymnax_state.ball_x))
    paddle = (int(state.gymnax_state.paddle_y), int(state.gymnax_state.paddle_x))
    assert cells == {ball, paddle} and len(rows) == 2 * cell**2

    env, params = envs.make("gymnax:Breakout-MinAtar")
    _, state = jax.jit(env.reset)(jax.random.key(0), params)
    states = _batch(state, {})
    states = states.replace(gymnax_state=states.gymnax_state.replace(pos=jnp.array([2, 7])))
    frames = jax.jit(jax.vmap(env.render, in_axes=(0, None)))(states, params)
    assert frames.shape == (2, 250, 250, 3) and env.render_cell_pixels == 25
    # The paddle (channel 0) on the bottom row takes the first colour of seaborn's
    # color_palette("cubehelix", 4), as in gymnax's MinAtar visualizer; the bricks (channel 3)
    # fill rows 1 to 3 with the last.
    for frame, paddle_x in zip(frames, [2, 7], strict=True):
        rows, cols = _pixels_of(frame, (22, 61, 78))
        assert len(rows) == 25**2 and rows.min() == 9 * 25 and cols.min() == paddle_x * 25
        rows, _ = _pixels_of(frame, (193, 202, 243))
        assert rows.min() == 25 and rows.max() == 4 * 25 - 1

    cartpole, params = envs.make("gymnax:CartPole-v1")
    _, state = cartpole.reset(jax.random.key(0), params)
    assert cartpole.render_cell_pixels is None
    with pytest.raises(NotImplementedError, match=r"only image observations.*shape \(4,\)"):
        cartpole.render(state, params)
