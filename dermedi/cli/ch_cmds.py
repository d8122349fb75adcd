"""CLI commands: ch_cmds (placeholder until implemented)."""
