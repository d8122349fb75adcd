"""CLI commands: scrub_cmds (placeholder until implemented)."""
