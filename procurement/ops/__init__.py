"""Operations: backing up and restoring an installation."""
