"""CLI commands: demo_cmds (placeholder until implemented)."""
