"""Self-play's configuration: PPO's settings, plus the league's."""

from __future__ import annotations

import dataclasses

from jaxrl.agents.ppo.config import PPOConfig
from jaxrl.checks import check_flags, check_positive_ints


@dataclasses.dataclass(frozen=True)
class SelfPlayConfig(PPOConfig):
    """PPO's settings (`PPOConfig`; `num_envs` games are played at once, one learner move per
    step) and the league's.

    Network (static):
        conv_features: filters of a 4x4 convolution over the board before the MLP (0: none).
        mirror_symmetric: average the network over the board and its left-right mirror image
            (logits mapped back), so the policy plays mirrored positions the mirrored way and
            every game teaches both: twice the forward passes for fewer moves to a level.

    League settings (static):
        league_size: opponents kept (at least 2): a uniformly random player, and the
            learner's last `league_size - 1` snapshots in a ring.
        snapshot_interval: updates between two snapshots of the learner into the league.
        opponent_temperature: league opponents sample their policy's logits divided by it (0:
            their most probable move); below 1 they punish mistakes more often.
    """

    conv_features: int = 0
    mirror_symmetric: bool = False
    mirror_augment: bool = False
    league_size: int = 8
    snapshot_interval: int = 10
    opponent_temperature: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        if (
            isinstance(self.conv_features, bool)
            or not isinstance(self.conv_features, int)
            or (self.conv_features < 0)
        ):
            raise ValueError(
                f"SelfPlayConfig.conv_features={self.conv_features!r}: give 0 (no convolution) "
                "or a positive number of filters."
            )
        check_flags(self, ("mirror_symmetric", "mirror_augment"), owner="SelfPlayConfig")
        check_positive_ints(self, ("league_size", "snapshot_interval"), owner="SelfPlayConfig")
        temperature = self.opponent_temperature
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, (int, float))
            or not (temperature >= 0)
        ):
            raise ValueError(
                f"SelfPlayConfig.opponent_temperature={temperature!r}: give 0 (greedy) or a "
                "positive number."
            )
        if self.league_size < 2:
            raise ValueError(
                f"SelfPlayConfig.league_size={self.league_size}: keep at least 2 slots (the "
                "random player and one snapshot)."
            )
        if self.normalize_observations or self.normalize_rewards:
            raise ValueError(
                "SelfPlayConfig: league opponents play raw boards and rewards are +-1; set "
                "normalize_observations=False and normalize_rewards=False."
            )
