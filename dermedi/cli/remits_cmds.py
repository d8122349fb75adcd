"""CLI commands: remits_cmds (placeholder until implemented)."""
