"""make/registered: ids, overrides and their one-line errors."""

import jax
import pytest

from jaxrl import envs

BUILTIN = {
    "CartPole-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Acrobot-v1",
    "Pendulum-v1",
    "GridWorld-OpenRoom-v0",
    "GridWorld-FourRooms-v0",
    "GridWorld-CliffWalking-v0",
}


def test_registered_lists_every_builtin_sorted():
    ids = envs.registered()
    assert BUILTIN <= set(ids) and ids == sorted(ids)


@pytest.mark.parametrize("env_id", sorted(BUILTIN))
def test_make_builds_each_env_with_its_name(env_id):
    env, params = envs.make(env_id)
    assert env.name == env_id
    assert params.max_steps > 0


def test_unknown_id_suggests_the_closest_and_lists_the_rest():
    with pytest.raises(ValueError) as error:
        envs.make("Cartpole-v1")
    message = str(error.value)
    assert "did you mean 'CartPole-v1'" in message
    assert "Acrobot-v1" in message and "\n" not in message


def test_overrides_replace_params_and_unknown_ones_name_the_valid_fields():
    _, params = envs.make("CartPole-v1", gravity=3.7, max_steps=200)
    assert params.gravity == 3.7 and params.max_steps == 200
    with pytest.raises(ValueError, match="valid parameters: .*gravity"):
        envs.make("CartPole-v1", gravitee=1.0)


@pytest.mark.parametrize("value", ["heavy", None, [1.0]])
def test_override_of_the_wrong_type_is_rejected(value):
    with pytest.raises(ValueError, match="expected a number"):
        envs.make("CartPole-v1", gravity=value)


def test_integer_fields_reject_fractions():
    with pytest.raises(ValueError, match="expected an integer"):
        envs.make("CartPole-v1", max_steps=10.5)
    _, params = envs.make("CartPole-v1", max_steps=10.0)
    assert params.max_steps == 10 and isinstance(params.max_steps, int)


def test_register_refuses_duplicates_and_malformed_entry_points():
    with pytest.raises(ValueError, match="already registered"):
        envs.register("CartPole-v1", "jaxrl.envs.classic_control.cartpole:CartPole")
    with pytest.raises(ValueError, match="module:callable"):
        envs.register("Mine-v0", "no_colon_here")


def test_a_non_string_id_is_rejected():
    with pytest.raises(ValueError, match="must be a string"):
        envs.make(jax.numpy.zeros(3))
