"""dermedi: config."""
