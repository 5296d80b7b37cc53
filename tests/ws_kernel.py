"""Run code in a kernel of a Jupyter server through its websocket, the way JupyterLab does."""

from __future__ import annotations

import json
import time
import uuid

import requests
import websocket
from kernels import output_text


class WebSocketKernel:
    def __init__(self, server_url: str, token: str):
        self.server_url = server_url.rstrip("/")
        self.headers = {"Authorization": f"token {token}"}
        resp = requests.post(
            f"{self.server_url}/api/kernels", json={"name": "python3"}, headers=self.headers, timeout=60
        )
        resp.raise_for_status()
        self.kernel_id = resp.json()["id"]
        self.session = uuid.uuid4().hex
        ws_url = self.server_url.replace("http", "ws", 1) + f"/api/kernels/{self.kernel_id}/channels"
        self.ws = websocket.create_connection(ws_url, header=[f"Authorization: token {token}"], timeout=120)

    def run(self, code: str, timeout: float = 120) -> str:
        """Execute like a cell: printed text, results and errors as one string."""
        msg_id = uuid.uuid4().hex
        self.ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "session": self.session,
                        "username": "test",
                        "version": "5.3",
                        "date": "",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "buffers": [],
                    "channel": "shell",
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )
        )
        # The reply comes on the shell channel, the output on iopub: the order between the two is not fixed, so
        # the cell is done when both the reply and iopub's "idle" for it have come.
        out, replied, idle, deadline = [], False, False, time.time() + timeout
        while time.time() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "execute_reply":
                replied = True
            elif msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                idle = True
            else:
                out.append(output_text(msg))
            if replied and idle:
                return "".join(out)
        raise AssertionError(f"no reply within {timeout} s; output so far: {''.join(out)}")

    def close(self) -> None:
        self.ws.close()
        requests.delete(f"{self.server_url}/api/kernels/{self.kernel_id}", headers=self.headers, timeout=30)
