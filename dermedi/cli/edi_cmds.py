"""CLI commands: edi_cmds (placeholder until implemented)."""
