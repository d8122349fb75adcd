"""Imports every command module so that each registers itself on the app."""

from dermedi.cli import (  # noqa: F401
    ch_cmds,
    demo_cmds,
    edi_cmds,
    learn_cmds,
    remits_cmds,
    scrub_cmds,
    web_cmds,
)
