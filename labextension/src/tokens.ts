import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import { ILogin, ISession, IToken } from './api';

/**
 * The Jupyter server's openEO login, for other JupyterLab extensions (a map viewer, a process graph
 * editor): require `IOpenEOAuth` instead of running a login of your own.
 */
export interface IOpenEOAuth {
  /** The sessions the server holds (never a token). */
  sessions(): Promise<ISession[]>;
  /**
   * Open the login dialog for a back-end (the default back-end when none is given). Resolves when the dialog
   * closes: with the login when it succeeded, else null (a login still pending then goes on; `changed` says
   * when it ends).
   */
  login(backend?: string): Promise<ILogin | null>;
  /** An access token valid for at least `minValid` seconds (default 60). */
  getToken(backend: string, minValid?: number): Promise<IToken>;
  /** Emitted whenever a login starts or ends, or a session is renewed or ends. */
  readonly changed: ISignal<IOpenEOAuth, void>;
}

export const IOpenEOAuth = new Token<IOpenEOAuth>(
  'jupyter-openeo-auth:IOpenEOAuth',
  "The Jupyter server's openEO login: sessions, login dialog, access tokens."
);
