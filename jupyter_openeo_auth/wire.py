"""Names both ends of the REST API share: the server (server/, broker/) and its clients (kernel/, the CLI; the
TypeScript side has the same names in labextension/src/api.ts, checked against openapi.json by a test). Constants
and enumerations of the standard library only, so that neither side's framework is needed to read them."""

from __future__ import annotations

import enum
from pathlib import Path

#: Where the REST API lives, under the Jupyter server's base URL.
API_PREFIX = "openeo-auth/api"
#: The `Authorization` scheme of a kernel's key: `openeo-kernel KEY`.
KERNEL_SCHEME = "openeo-kernel"
#: Which of the server's kernels is asking (sent with the kernel key): a login it started and alone waits for
#: is cancelled when that kernel is restarted or shut down.
KERNEL_ID_HEADER = "X-Openeo-Kernel-Id"
#: Hosts that mean "this machine".
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class WireName(str, enum.Enum):
    """A name sent over the wire: compares equal to, and prints as, its string."""

    def __str__(self) -> str:
        return self.value


class Flow(WireName):
    """How a login is made: openapi.json's `Flow`, `Flow` in labextension/src/api.ts. Adding one means adding it
    here, there, and to the broker's `start_login` (the document and a test follow)."""

    DEVICE = "device"
    CLIENT_CREDENTIALS = "client_credentials"
    PASSWORD = "password"
    #: Not started by anyone: JupyterHub's own login, handed to the user's server.
    HUB = "hub"


class LoginState(WireName):
    """Where a login is (GET logins/ID `state`): openapi.json's `LoginState`, the same union in api.ts."""

    PENDING = "pending"
    LOGGED_IN = "logged_in"
    DENIED = "denied"
    EXPIRED = "expired"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: The id of the server's event schema (server/events/session.yaml's `$id`; EVENT_SCHEMA in model.ts).
EVENT_SCHEMA = "https://events.jupyter.org/jupyter_openeo_auth/session/v1"


class EventAction(WireName):
    """What happened to a login or session: `action` of the server's events (server/events/session.yaml), which
    labextension/src/model.ts follows; a test checks all three agree."""

    LOGIN_STARTED = "login_started"
    LOGIN_FINISHED = "login_finished"
    SESSION_RENEWED = "session_renewed"
    SESSION_ENDED = "session_ended"
    #: A login made for another back-end now serves this one too (same provider and client).
    SESSION_SHARED = "session_shared"
    #: The login ends soon however often it is renewed (at `login_expires_at`).
    LOGIN_ENDING = "login_ending"


#: A login widget's state before it started a login; after, it is the login's `LoginState`.
NOT_STARTED = "new"


class Reason(WireName):
    """Why a request failed: `reason` of every error answer (`{"reason", "message"}`), openapi.json's `Reason`,
    the same union in api.ts. Each error type names its reason here; the message says what to do."""

    ERROR = "error"  # none more specific
    # The request itself
    BAD_REQUEST = "bad_request"
    MISSING_PARAMETER = "missing_parameter"
    BAD_PARAMETER = "bad_parameter"
    NOT_AUTHENTICATED = "not_authenticated"
    FORBIDDEN = "forbidden"
    NOT_OWNER = "not_owner"  # on a hub: only the server's owner may use her logins
    CROSS_SITE = "cross_site"  # a cookie-authenticated request that another web site made the browser send
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ALLOWED = "not_allowed"  # a back-end outside `allowed_backends`
    TOO_MANY_LOGINS = "too_many_logins"
    SERVER_ERROR = "server_error"
    # The back-end and what it lists
    INVALID_BACKEND_URL = "invalid_backend_url"
    BACKEND_UNAVAILABLE = "backend_unavailable"
    NOT_OPENEO = "not_openeo"
    NO_OIDC = "no_oidc"
    UNKNOWN_PROVIDER = "unknown_provider"
    NO_CLIENT = "no_client"
    FLOW_NOT_SUPPORTED = "flow_not_supported"
    ACCOUNT_REFUSED = "account_refused"
    CLIENT_CREDENTIALS_NOT_CONFIGURED = "client_credentials_not_configured"
    # The provider
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    BAD_RESPONSE = "bad_response"
    DENIED = "denied"
    EXPIRED = "expired"
    FAILED = "failed"
    # The login
    CANCELLED = "cancelled"  # GET logins/ID of a login cancelled with DELETE (410: it is gone)
    NOT_LOGGED_IN = "not_logged_in"
    LOGIN_REQUIRED = "login_required"


class ClientReason(WireName):
    """Why a client of the REST API (a kernel, the CLI, JupyterLab's api.ts) got no answer: never sent by the
    server, so not in openapi.json's `Reason`."""

    NO_SERVER = "no_server"  # no Jupyter server with this extension found
    SEVERAL_SERVERS = "several_servers"  # more than one could be meant
    NETWORK = "network"  # JupyterLab: the server did not answer


#: The environment variable in which JupyterHub hands a user's server the key of its sealed logins
#: (`hub.store_key_hook`); the server takes it out of its environment before any kernel starts.
STORE_KEY_ENV = "JUPYTER_OPENEO_AUTH_STORE_KEY"


def key_file_name(pid: int | str) -> str:
    """The name of the key file the server with this process id writes into its runtime folder."""
    return f"jupyter-openeo-auth-{pid}.json"


KEY_FILE_GLOB = key_file_name("*")


def key_file(runtime_dir: str | Path, pid: int | str) -> Path:
    """Where the server with this pid keeps its kernel key."""
    return Path(runtime_dir) / key_file_name(pid)
