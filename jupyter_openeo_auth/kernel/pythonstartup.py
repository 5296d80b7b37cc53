# Run by IPython in the kernels of a Jupyter server with jupyter-openeo-auth: the server names this file in the
# PYTHONSTARTUP its kernels inherit (OpenEOAuth.load_in_kernels). IPython executes it in the user's namespace,
# so it defines nothing there; see jupyter_openeo_auth.kernel.autoload.
__import__("jupyter_openeo_auth.kernel.autoload").kernel.autoload.run(globals())
