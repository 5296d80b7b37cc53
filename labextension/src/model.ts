import { Event, ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ILogin,
  ILoginRequest,
  IProvider,
  ISession,
  IToken,
  requestAPI
} from './api';
import { IOpenEOAuth } from './tokens';

/** The `$id` of the server extension's events (see jupyter_openeo_auth/server/events/session.yaml). */
export const EVENT_SCHEMA =
  'https://events.jupyter.org/jupyter_openeo_auth/session/v1';

/** What the server says about its configuration for the login dialog. */
export interface IServerSettings {
  default_backend: string;
  service_account_backends: string[];
}

/**
 * What JupyterLab knows about the server's openEO logins: the sessions, and the logins pending on the server
 * (read once, then followed). It follows the server's event bus (no polling); views only render it.
 */
export class OpenEOAuthModel implements IOpenEOAuth {
  constructor(
    private readonly serverSettings: ServerConnection.ISettings,
    events: Event.IManager | null,
    private readonly openDialog: (backend?: string) => Promise<ILogin | null>
  ) {
    events?.stream.connect(this._onEvent, this);
  }

  /** The sessions as last read from the server. */
  get current(): ISession[] {
    return this._sessions;
  }

  /** How many logins were started on the server and have not ended yet. */
  get pendingCount(): number {
    return this._pending.size;
  }

  /** An error reading the sessions (the server extension missing, say), else null. */
  get error(): string | null {
    return this._error;
  }

  get changed(): ISignal<IOpenEOAuth, void> {
    return this._changed;
  }

  /** Emitted with the login id and state when a login ends on the server. */
  get loginFinished(): ISignal<this, { login_id: string; state: string }> {
    return this._loginFinished;
  }

  async sessions(): Promise<ISession[]> {
    await this.refresh();
    return this._sessions;
  }

  login(backend?: string): Promise<ILogin | null> {
    return this.openDialog(backend);
  }

  getToken(backend: string, minValid = 60): Promise<IToken> {
    return this.call<IToken>('token', {
      method: 'POST',
      body: JSON.stringify({ backend, min_valid: minValid })
    });
  }

  /** Read the sessions again and tell the views; the first time, the pending logins too (a login started
   * before this page was loaded is followed like one this page saw start). */
  async refresh(): Promise<void> {
    try {
      if (!this._pendingRead) {
        this._pendingRead = true;
        await this.pendingLogins().catch(() => []);
      }
      const data = await this.call<{ sessions: ISession[] }>('sessions');
      this._sessions = data.sessions;
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message;
    }
    this._changed.emit();
  }

  settings(): Promise<IServerSettings> {
    return this.call<IServerSettings>('settings');
  }

  providers(
    backend: string
  ): Promise<{ backend: string; providers: IProvider[] }> {
    return this.call(`providers?backend=${encodeURIComponent(backend)}`);
  }

  startLogin(body: ILoginRequest): Promise<ILogin> {
    return this.call<ILogin>('logins', {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }

  getLogin(id: string): Promise<ILogin> {
    return this.call<ILogin>(`logins/${encodeURIComponent(id)}`);
  }

  /** The logins pending on the server (started in a dialog closed since, in a notebook, or before this page
   * was loaded); the status bar counts them. */
  async pendingLogins(): Promise<ILogin[]> {
    const { logins } = await this.call<{ logins: ILogin[] }>('logins');
    // A login whose end this tab heard of while the answer was on its way stays ended.
    const open = logins.filter(login => !this._ended.has(login.id));
    this._pending = new Set(open.map(login => login.id));
    return open;
  }

  /** A login of this back-end pending on the server, else null. */
  async pendingLogin(backend: string): Promise<ILogin | null> {
    const bare = (url: string) => url.replace(/\/+$/, '').toLowerCase();
    const logins = await this.pendingLogins().catch(() => []);
    return logins.find(login => bare(login.backend) === bare(backend)) ?? null;
  }

  cancelLogin(id: string): Promise<ILogin> {
    return this.call<ILogin>(`logins/${encodeURIComponent(id)}`, {
      method: 'DELETE'
    });
  }

  async logout(
    backend: string,
    providerId?: string
  ): Promise<{ logged_out: number; revoked: boolean; message?: string }> {
    const query =
      `backend=${encodeURIComponent(backend)}` +
      (providerId ? `&provider_id=${encodeURIComponent(providerId)}` : '');
    const result = await this.call<{
      logged_out: number;
      revoked: boolean;
      message?: string;
    }>(`sessions?${query}`, {
      method: 'DELETE'
    });
    await this.refresh();
    return result;
  }

  private call<T>(path: string, init: RequestInit = {}): Promise<T> {
    return requestAPI<T>(path, init, this.serverSettings);
  }

  private _onEvent(_: Event.IManager, event: Event.Emission): void {
    if (event.schema_id !== EVENT_SCHEMA) {
      return;
    }
    const id = typeof event.login_id === 'string' ? event.login_id : '';
    if (event.action === 'login_started' && id) {
      this._pending.add(id);
    } else if (event.action === 'login_finished' && id) {
      this._pending.delete(id);
      this._ended.add(id);
      this._loginFinished.emit({ login_id: id, state: String(event.state) });
    }
    void this.refresh();
  }

  private _sessions: ISession[] = [];
  private _error: string | null = null;
  private _pending = new Set<string>();
  private _pendingRead = false;
  private _ended = new Set<string>();
  private _changed = new Signal<IOpenEOAuth, void>(this);
  private _loginFinished = new Signal<
    this,
    { login_id: string; state: string }
  >(this);
}
