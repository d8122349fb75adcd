"""dermedi: clearinghouse."""
