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


def _run_as_if_alone(path: str, source: bytes, namespace: dict) -> None:
    """Run the user's own PYTHONSTARTUP as Python would run it alone: its own `__file__` and `sys.argv[0]`,
    its folder first on sys.path instead of this one's (whose modules, client.py or api.py, would shadow the
    user's), its errors under its own name. Everything is put back afterwards."""
    import os
    import sys

    here = os.path.dirname(os.path.abspath(globals().get("__file__") or "."))
    saved_path, saved_argv = list(sys.path), list(sys.argv)
    had_file, saved_file = "__file__" in namespace, namespace.get("__file__")
    sys.path[:] = [os.path.dirname(os.path.abspath(path))] + [p for p in saved_path if p != here]
    if sys.argv:
        sys.argv[0] = path
    namespace["__file__"] = path
    try:
        exec(compile(source, path, "exec"), namespace)
    finally:
        sys.path[:] = saved_path
        sys.argv[:] = saved_argv
        if had_file:
            namespace["__file__"] = saved_file
        else:
            namespace.pop("__file__", None)


# No annotation imports: this file runs in the user's namespace, which gets nothing but what it already had.
def _jupyter_openeo_auth_startup(namespace: dict, run_users) -> None:  # type: ignore[no-untyped-def]
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
            with open(users, "rb") as f:
                source = f.read()  # bytes: compile() honours the file's own encoding line (PEP 263)
            if not source.startswith(marker.encode()):  # another environment's copy of this file is not theirs
                run_users(users, source, namespace)
    finally:
        del sys._jupyter_openeo_auth_started  # type: ignore[attr-defined]


_jupyter_openeo_auth_startup(globals(), _run_as_if_alone)
del _jupyter_openeo_auth_startup, _run_as_if_alone
