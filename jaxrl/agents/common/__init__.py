"""What every learner shares: the rollout skeleton, evaluation, random draws and grids."""
