"""Where images come from and how batches are made."""
