"""A second, independent OpenID provider for the tests: django-oauth-toolkit (PyPI), a different
implementation from the npm `oidc-provider`, with its own habits: the device endpoint is not advertised
by default, revocation is only in its RFC 8414 metadata, device logins bring no id token, every flow needs
its own client. It runs on 127.0.0.1 in one process, with an SQLite file in a temporary folder:

    python tests/second_provider/provider.py --port 8090

Users `alice` / `alice-password`. Clients: `dot-device` (public, device code + refresh), `dot-password`
(public, password + refresh), `dot-service` (confidential client credentials; secret from
`DOT_SERVICE_SECRET`). Refresh tokens rotate, and replaying a rotated one revokes the login.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

LOGIN_PAGE = """<!doctype html><title>Second test provider: log in</title>
<form method="post">{% csrf_token %}<label>User <input name="username"></label>
<label>Password <input name="password" type="password"></label>
<input type="hidden" name="next" value="{{ next }}"><button>Log in</button></form>"""
BASE_PAGE = "<!doctype html><title>Second test provider</title>{% block content %}{% endblock %}"
ACCESS_TOKEN_TTL = 30


def rsa_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def configure(port: int, folder: str) -> None:
    from django.conf import settings

    base = f"http://127.0.0.1:{port}"
    settings.configure(
        DEBUG=bool(os.environ.get("DOT_DEBUG")),
        SECRET_KEY=os.urandom(32).hex(),
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "oauth2_provider",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(folder, "db.sqlite3")}},
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "OPTIONS": {
                    "loaders": [
                        (
                            "django.template.loaders.locmem.Loader",
                            {"registration/login.html": LOGIN_PAGE, "oauth2_provider/base.html": BASE_PAGE},
                        ),
                        "django.template.loaders.app_directories.Loader",
                    ],
                    "context_processors": ["django.template.context_processors.request"],
                },
            }
        ],
        LOGIN_URL="/accounts/login/",
        USE_TZ=True,
        OAUTH2_PROVIDER={
            "OIDC_ENABLED": True,
            "OIDC_RSA_PRIVATE_KEY": rsa_key(),
            "OIDC_ISS_ENDPOINT": base + "/o",
            "SCOPES": {"openid": "OpenID", "profile": "Profile", "email": "Email"},
            "DEFAULT_SCOPES": ["openid"],
            "ACCESS_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_TTL,
            "ROTATE_REFRESH_TOKEN": True,
            "REFRESH_TOKEN_REUSE_PROTECTION": True,
            "PKCE_REQUIRED": False,
            "DEVICE_FLOW_INTERVAL": 1,
            "OAUTH_DEVICE_VERIFICATION_URI": base + "/o/device/",
            "OAUTH_DEVICE_VERIFICATION_URI_COMPLETE": base + "/o/device/?user_code={user_code}",
            "OAUTH2_VALIDATOR_CLASS": __name__ + ".Validator",
        },
    )


def define() -> None:
    """The validator (names in userinfo) and the URLs, once Django is set up."""
    global Validator, urlpatterns
    from django.contrib.auth import views as auth_views
    from django.http import JsonResponse
    from django.urls import include, path
    from oauth2_provider.oauth2_validators import OAuth2Validator
    from oauth2_provider.views.metadata import OAuthServerMetadataView

    class Validator(OAuth2Validator):
        oidc_claim_scope = None  # every claim for every scope: this is a test provider

        def get_additional_claims(self, request):
            user = request.user
            return {"name": user.get_full_name(), "email": user.email, "preferred_username": user.username}

    class Metadata(OAuthServerMetadataView):
        """RFC 8414 metadata, plus the device endpoint that django-oauth-toolkit serves but does not list."""

        def get(self, request, *args, **kwargs):
            data = json.loads(super().get(request, *args, **kwargs).content)
            data["device_authorization_endpoint"] = request.build_absolute_uri("/o/device-authorization/")
            return JsonResponse(data)

    urlpatterns = [
        path("o/.well-known/oauth-authorization-server", Metadata.as_view()),
        path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
        path("accounts/login/", auth_views.LoginView.as_view()),
    ]


def populate() -> None:
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    User.objects.create_user("alice", "alice@example.org", "alice-password", first_name="Alice", last_name="Liddell")
    common = {"redirect_uris": "", "algorithm": Application.RS256_ALGORITHM, "skip_authorization": True}
    Application.objects.create(
        client_id="dot-device",
        client_type=Application.CLIENT_PUBLIC,
        name="device",
        authorization_grant_type=Application.GRANT_DEVICE_CODE,
        **common,
    )
    Application.objects.create(
        client_id="dot-password",
        client_type=Application.CLIENT_PUBLIC,
        name="password",
        authorization_grant_type=Application.GRANT_PASSWORD,
        **common,
    )
    Application.objects.create(
        client_id="dot-service",
        client_type=Application.CLIENT_CONFIDENTIAL,
        name="service",
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=os.environ["DOT_SERVICE_SECRET"],
        **common,
    )


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # the requests carry codes in query strings: log method and path only
        sys.stderr.write(f"{self.command} {self.path.split('?')[0]} {args[1] if len(args) > 1 else ''}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with tempfile.TemporaryDirectory(prefix="joa-dot-") as folder:
        configure(args.port, folder)
        import django

        django.setup()
        define()
        populate()
        from django.core.wsgi import get_wsgi_application

        server = make_server(
            "127.0.0.1", args.port, get_wsgi_application(), server_class=Server, handler_class=QuietHandler
        )
        print(f"django-oauth-toolkit provider listening on http://127.0.0.1:{args.port}/o", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
