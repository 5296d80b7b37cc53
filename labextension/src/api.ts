import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** How a login is made: openapi.json's `Flow` (`Flow` in jupyter_openeo_auth/wire.py); `hub` is
 * JupyterHub's own login. A test checks that these unions list what the document lists. */
export type Flow = 'device' | 'client_credentials' | 'password' | 'hub';

/** The flows `POST logins` starts: openapi.json's `LoginFlow`. */
export type LoginFlow = 'device' | 'client_credentials' | 'password';

/** Where a login is: openapi.json's `LoginState`. */
export type LoginState =
  'pending' | 'logged_in' | 'denied' | 'expired' | 'failed' | 'cancelled';

/** A session as `GET openeo-auth/api/sessions` lists it, one per back-end a login serves: never a token. */
export interface ISession {
  backend: string;
  provider_id: string;
  flow: Flow;
  user: { sub?: string; name?: string; email?: string };
  access_expires_at: number | null;
  refreshable: boolean;
  login_required: boolean;
  /** The back-end refused the account (not in its virtual organization): its sentence, else null. */
  account_problem: string | null;
  /** Names the login: the same for every back-end it serves. */
  login?: string;
  issuer?: string;
  /** The OpenID client the login was made with (not a secret). */
  client_id?: string;
  /** Every back-end this login serves (same issuer and client), its own first. */
  serves?: string[];
  /** When the login ends however often it is renewed (epoch seconds); null while unknown. */
  login_expires_at?: number | null;
  /** The end is near: the status bar says so. */
  login_ending?: boolean;
}

/** What `POST logins` is asked (openapi.json's `LoginRequest`). */
export interface ILoginRequest {
  backend: string;
  provider_id?: string;
  client_id?: string;
  flow?: LoginFlow;
  username?: string;
  password?: string;
  /** The secret of the user's own confidential client `client_id` (the dialog never sends one). */
  client_secret?: string;
}

/** A login as `POST logins` and `GET logins/ID` answer it. */
export interface ILogin {
  id: string;
  state: LoginState;
  backend: string;
  provider_id: string;
  message?: string;
  user?: { sub?: string; name?: string; email?: string };
  user_code?: string;
  verification_uri?: string;
  verification_uri_complete?: string;
  /** The links are paths on this server (a provider reached through its proxy). */
  through_server?: boolean;
  expires_at?: number;
  qr_svg?: string;
}

export interface IProvider {
  id: string;
  title: string;
  issuer: string;
  flows: LoginFlow[];
}

/** An access token from `POST token`. */
export interface IToken {
  access_token: string;
  expires_at: number | null;
  provider_id: string;
  bearer: string;
  user?: { sub?: string; name?: string; email?: string };
}

/** Why a request failed (`reason` of an error answer): openapi.json's `Reason`, `Reason` in wire.py. */
export type Reason =
  | 'error'
  | 'bad_request'
  | 'missing_parameter'
  | 'bad_parameter'
  | 'not_authenticated'
  | 'forbidden'
  | 'not_owner'
  | 'cross_site'
  | 'not_found'
  | 'method_not_allowed'
  | 'not_allowed'
  | 'too_many_logins'
  | 'server_error'
  | 'invalid_backend_url'
  | 'backend_unavailable'
  | 'not_openeo'
  | 'no_oidc'
  | 'unknown_provider'
  | 'no_client'
  | 'flow_not_supported'
  | 'account_refused'
  | 'client_credentials_not_configured'
  | 'provider_unavailable'
  | 'bad_response'
  | 'denied'
  | 'expired'
  | 'failed'
  | 'cancelled'
  | 'not_logged_in'
  | 'login_required';

/** Why a client got no answer at all: `ClientReason` in wire.py (the server never sends these). */
export type ClientReason = 'network'; // the server did not answer

/** An error answer of the REST API: `message` is a sentence for the user. */
export class OpenEOAuthError extends Error {
  constructor(
    message: string,
    readonly reason: Reason | ClientReason,
    readonly status: number
  ) {
    super(message);
  }
}

/** One call of the server's openEO auth REST API (under the server's base URL). */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'openeo-auth', 'api', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch {
    throw new OpenEOAuthError(
      'The Jupyter server cannot be reached. Check that it is running.',
      'network',
      0
    );
  }
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message =
      data && typeof data.message === 'string'
        ? data.message
        : `The Jupyter server answered HTTP ${response.status}; is jupyter-openeo-auth installed on it?`;
    throw new OpenEOAuthError(
      message,
      (data && data.reason) || 'error',
      response.status
    );
  }
  return data as T;
}
