"""jupyter-openeo-auth: the Jupyter server logs in to openEO back-ends and hands access tokens to kernels."""

__version__ = "0.1.0"


def _jupyter_server_extension_points():
    from .server.app import OpenEOAuth

    return [{"module": "jupyter_openeo_auth", "app": OpenEOAuth}]
