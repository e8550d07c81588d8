//! Following files the way `tail -F` does, through rotation.
