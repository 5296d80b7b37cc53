# jupyter-openeo-auth startup file (this line marks any copy of it: jupyter_openeo_auth/kernel/autoload.py)
# Run by Python at the start of every interactive interpreter a Jupyter server with jupyter-openeo-auth starts:
# the server names this file in the PYTHONSTARTUP its kernels and terminals inherit (OpenEOAuth.load_in_kernels;
# see jupyter_openeo_auth/kernel/autoload.py). In an IPython kernel it loads the extension; anywhere else (a
# terminal's `python`, another environment without this package) it does nothing but what the user's own
# PYTHONSTARTUP does, which runs after it. It runs in the user's namespace, so it leaves no name there.
#
# IPython runs this file with the kernel's working directory (the notebook's folder) first on sys.path: a
# `requests.py` or `jupyter_openeo_auth.py` in a cloned repository, a download or a shared folder would be
# imported, and run, before any cell (the class of CVE-2022-21699). So the imports here see sys.path without
# its relative entries (IPython's "" for the working directory), and sys.path is put back exactly afterwards.


def _jupyter_openeo_auth_startup(namespace: dict) -> None:
    import os
    import sys

    marker = "# jupyter-openeo-auth startup file"
    if getattr(sys, "_jupyter_openeo_auth_started", False):  # a copy of this file naming another copy
        return
    sys._jupyter_openeo_auth_started = True  # type: ignore[attr-defined]
    try:
        if "ipykernel" in sys.modules:
            kept = list(sys.path)
            # IPython names the working directory as "" (a relative entry): that is what goes. An absolute
            # entry was put there on purpose (PYTHONPATH, a .pth file of an editable install), and stays.
            sys.path[:] = [p for p in kept if p and os.path.isabs(p)]
            try:
                from jupyter_openeo_auth.kernel.autoload import load_into_this_kernel
            except ImportError:  # a kernel of another environment, without this package: as before
                pass
            else:
                load_into_this_kernel()
            finally:
                sys.path[:] = kept
        users = os.environ.get("JUPYTER_OPENEO_AUTH_PYTHONSTARTUP")
        if users and os.path.isfile(users):
            with open(users, encoding="utf-8") as f:
                source = f.read()
            if not source.startswith(marker):  # another environment's copy of this file is not the user's
                exec(compile(source, users, "exec"), namespace)
    finally:
        del sys._jupyter_openeo_auth_started  # type: ignore[attr-defined]


_jupyter_openeo_auth_startup(globals())
del _jupyter_openeo_auth_startup
