"""The command-line front: console scripts, the Hydra apps and their entry with one-line
errors and exit codes, the config check before the run directory exists, did-you-mean hints,
warning filters."""
