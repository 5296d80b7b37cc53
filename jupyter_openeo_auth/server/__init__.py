"""The Jupyter server side: the ExtensionApp (configuration) and thin REST handlers over the broker."""
