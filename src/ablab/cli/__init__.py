"""The command-line front: console scripts, the Hydra apps and their entry with one-line
errors and exit codes, the config check before the run directory exists, did-you-mean hints,
warning filters."""


def __getattr__(name):
    # ablab.cli was one module before it was this package: configs written then name
    # ablab.cli.CheckConfig (a Hydra callback) and code may import hydra_entry from here.
    if name == "hydra_entry":
        from ablab.cli.entry import hydra_entry

        return hydra_entry
    if name == "explain":
        from ablab.cli.hints import explain

        return explain
    if name == "CheckConfig":
        from ablab.cli.check import CheckConfig

        return CheckConfig
    raise AttributeError(f"module 'ablab.cli' has no attribute {name!r}")
