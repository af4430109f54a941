"""Built-in channel presets, shipped as TOML data files."""
