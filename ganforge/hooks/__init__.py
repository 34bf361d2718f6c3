"""The plugin system: the hook specifications (``specs``, each contract described once, in
its docstring) and the plugin manager and component registry (``manager``)."""
