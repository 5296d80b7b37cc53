# Run by Python at the start of every interactive interpreter a Jupyter server with jupyter-openeo-auth starts:
# the server names this file in the PYTHONSTARTUP its kernels and terminals inherit (OpenEOAuth.load_in_kernels;
# see jupyter_openeo_auth/kernel/autoload.py). In an IPython kernel it loads the extension; anywhere else (a
# terminal's `python`, another environment without this package) it does nothing but what the user's own
# PYTHONSTARTUP does, which runs after it. It runs in the user's namespace, so it leaves no name there.


def _jupyter_openeo_auth_startup(namespace: dict) -> None:
    import os
    import sys

    if "ipykernel" in sys.modules:
        try:
            from jupyter_openeo_auth.kernel.autoload import load_into_this_kernel
        except ImportError:  # a kernel of another environment, without this package: as before
            pass
        else:
            load_into_this_kernel()
    users = os.environ.get("JUPYTER_OPENEO_AUTH_PYTHONSTARTUP")
    if users and os.path.isfile(users):
        with open(users, encoding="utf-8") as f:
            exec(compile(f.read(), users, "exec"), namespace)


_jupyter_openeo_auth_startup(globals())
del _jupyter_openeo_auth_startup
