"""Two-player board games: Tic-tac-toe and Connect Four, one game per file, on the base in
`core` (whose turn, the legal-action mask, rewards per player, an egocentric observation)."""
