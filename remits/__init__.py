"""dermedi: remits."""
