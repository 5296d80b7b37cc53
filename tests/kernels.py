"""Real kernels started by the Jupyter server under test, driven like a notebook front end would."""

from __future__ import annotations

import contextlib

from jupyter_client.manager import AsyncKernelManager


class KernelError(AssertionError):
    pass


def output_text(msg: dict) -> str:
    """What a front end would show for one IOPub message: printed text, a result, or an error line."""
    kind, content = msg["msg_type"], msg["content"]
    if kind == "stream":
        return content["text"]
    if kind in ("execute_result", "display_data", "update_display_data"):  # an update: what the output became
        return content["data"].get("text/plain", "")
    if kind == "error":
        return f"{content['ename']}: {content['evalue']}"
    return ""


class Kernel:
    """One kernel of the server's kernel manager and an async client on it."""

    def __init__(self, serverapp):
        self.manager = serverapp.kernel_manager
        self.kernel_id = None
        self.client = None

    async def start(self) -> Kernel:
        self.kernel_id = await self.manager.start_kernel()
        self.client = self.manager.get_kernel(self.kernel_id).client()
        self.client.start_channels()
        await self.client.wait_for_ready(timeout=60)
        return self

    async def run(
        self, code: str, timeout: float = 90, allow_error: bool = False, stdin: str = None, watch=None
    ) -> str:
        """Execute like a cell; returns printed text and results. An exception raises KernelError. `watch` is
        called with each IOPub message as it comes (a person reading the cell's output while it runs)."""
        out, errors = [], []

        def hook(msg):
            if watch is not None:
                watch(msg)
            (errors if msg["msg_type"] == "error" else out).append(output_text(msg))

        def answer(msg):  # the front end answering an input() / getpass() prompt
            self.client.input(stdin)

        await self.client.execute_interactive(
            code, output_hook=hook, timeout=timeout, allow_stdin=stdin is not None, stdin_hook=answer
        )
        text = "".join(out)
        if errors and not allow_error:
            raise KernelError(f"{errors[0]}\n--- output:\n{text}")
        return text + "".join(errors)

    async def execute(self, code: str, timeout: float = 90) -> dict:
        """Execute like a cell; returns the error message's content (ename, evalue, traceback), {} when none."""
        errors = []

        def hook(msg):
            if msg["msg_type"] == "error":
                errors.append(msg["content"])

        await self.client.execute_interactive(code, output_hook=hook, timeout=timeout)
        return errors[0] if errors else {}

    async def stop(self) -> None:
        self.client.stop_channels()
        await self.manager.shutdown_kernel(self.kernel_id, now=True)


@contextlib.asynccontextmanager
async def kernel(serverapp):
    k = await Kernel(serverapp).start()
    try:
        yield k
    finally:
        await k.stop()


class RunningKernel(AsyncKernelManager):
    """A kernel manager for a kernel the server already runs: nbclient uses it, does not start one."""

    @property
    def has_kernel(self):
        return True


def manager_of(serverapp, k: Kernel) -> RunningKernel:
    """What nbclient needs to run a notebook in kernel `k` of the server (as JupyterLab's "Run All" does)."""
    km = RunningKernel(connection_file=serverapp.kernel_manager.get_kernel(k.kernel_id).connection_file)
    km.load_connection_file()
    return km
