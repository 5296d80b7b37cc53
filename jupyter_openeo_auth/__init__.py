"""jupyter-openeo-auth: the Jupyter server logs in to openEO back-ends and hands access tokens to kernels."""

__version__ = "0.1.0"
