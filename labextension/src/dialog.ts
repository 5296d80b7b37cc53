import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { ILogin, ILoginRequest, OpenEOAuthError } from './api';
import { el, LoginForm } from './form';
import { OpenEOAuthModel } from './model';

/**
 * A login link fit to open: an http(s) URI or, when the server says it made it (a provider reached through
 * the server's own proxy, as on Binder), a path on this server. Never `javascript:` or `//other.host`.
 */
function safeLink(
  url: string | undefined,
  onServer: boolean
): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  if (!url || /[\s\\\x00-\x1f]/.test(url)) {
    return undefined;
  }
  if (/^https?:\/\/[^/]/i.test(url) || (onServer && /^\/(?!\/)/.test(url))) {
    return url;
  }
  return undefined;
}

/** The code to type at the provider, with a button that copies it. */
function codeRow(userCode: string): HTMLElement {
  const copy = el('button', 'Copy code', 'jp-mod-styled jp-OpenEOAuth-copy');
  copy.addEventListener(
    'click',
    () => void navigator.clipboard?.writeText(userCode)
  );
  return row(el('div', userCode, 'jp-OpenEOAuth-code'), copy);
}

/** Parts side by side. */
function row(...parts: HTMLElement[]): HTMLElement {
  const node = el('div', '', 'jp-OpenEOAuth-row');
  node.append(...parts);
  return node;
}

/**
 * The login dialog's body: back-end, provider and flow; then the link, the code (with a copy button), the QR
 * code and a countdown; then the outcome. Everything from a provider or back-end is shown as text.
 */
export class LoginPanel extends Widget {
  constructor(
    private readonly model: OpenEOAuthModel,
    private readonly backend: string,
    private readonly remember: (backend: string) => void,
    private readonly done: (login: ILogin | null) => void,
    private readonly remembered = false
  ) {
    super();
    this.addClass('jp-OpenEOAuth-dialog');
    model.loginFinished.connect(this._onFinished, this);
    this.showForm();
    void this.rejoin();
  }

  /** Closing the dialog does not cancel a pending login: the user may be half-way through the provider's
   * page in another tab. "Cancel the login" ends it; the status bar shows how it ends otherwise. */
  dispose(): void {
    window.clearInterval(this._timer);
    super.dispose();
  }

  /** Stage 1: where and how to log in (with why the last attempt failed, when it did). */
  showForm(message = ''): void {
    const form = new LoginForm(
      this.model,
      this.backend,
      this.remembered,
      (request, provider) => {
        this._providerTitle = provider;
        void this.start(request);
      }
    );
    this.reset().append(...form.parts);
    void form.load().then(() => message && form.sayError(message));
  }

  /** Opened while a login of this back-end is pending (the dialog was closed, or a notebook started it): its
   * code at once, not the form again. */
  private async rejoin(): Promise<void> {
    const login = await this.model.pendingLogin(this.backend);
    if (login && !this._login && !this.isDisposed) {
      this._login = login;
      this.showPending(login);
    }
  }

  /** Stage 2: the link, the code, the QR code and a countdown, while the login is pending. */
  private showPending(login: ILogin): void {
    const node = this.reset();
    const onServer = login.through_server === true;
    const link =
      safeLink(login.verification_uri_complete, onServer) ||
      safeLink(login.verification_uri, onServer);
    if (!link) {
      void this.model.cancelLogin(login.id);
      this.showOutcome({
        ...login,
        state: 'failed',
        message:
          'The provider sent a login link that is not a web address; it was not shown. Start a new login.'
      });
      return;
    }
    const open = el(
      'button',
      'Open the login page',
      'jp-mod-styled jp-mod-accept jp-OpenEOAuth-open'
    );
    open.addEventListener('click', () =>
      window.open(link, '_blank', 'noopener,noreferrer')
    );
    const qr = el('div', '', 'jp-OpenEOAuth-qr');
    if (login.qr_svg) {
      qr.innerHTML = login.qr_svg; // rendered by the server with segno from the link: no provider text in it
    }
    const countdown = this.countdown(login.expires_at ?? 0);
    const cancel = el(
      'button',
      'Cancel the login',
      'jp-mod-styled jp-OpenEOAuth-cancel'
    );
    cancel.addEventListener('click', async () =>
      this.showOutcome(await this.model.cancelLogin(login.id))
    );
    const where = this._providerTitle ? ` of ${this._providerTitle}` : '';
    node.append(
      el('p', `Open the login page${where}, log in, and enter this code:`),
      open,
      codeRow(login.user_code || ''),
      qr,
      row(countdown, cancel),
      el(
        'p',
        'You may close this window: the login goes on (see the status bar).',
        'jp-OpenEOAuth-hint'
      )
    );
    open.focus(); // the clicked "Log in" is gone: keep the focus in the dialog, so Escape and Enter work
  }

  /** "The code expires in M:SS.", ticking every second until the stage changes. */
  private countdown(expiresAt: number): HTMLElement {
    const countdown = el('p', '', 'jp-OpenEOAuth-countdown');
    const tick = () => {
      const left = Math.max(0, Math.round(expiresAt - Date.now() / 1000));
      countdown.textContent = `The code expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}.`;
    };
    tick();
    this._timer = window.setInterval(tick, 1000);
    return countdown;
  }

  /** Stage 3: "Logged in as …" (then the dialog closes), or the error sentence and Retry. */
  private showOutcome(login: ILogin): void {
    window.clearInterval(this._timer);
    this._login = login;
    const node = this.reset();
    if (login.state === 'logged_in') {
      const name = login.user?.name || login.user?.sub || 'an unnamed user';
      const email = login.user?.email ? ` (${login.user.email})` : '';
      if (login.message) {
        // The provider said yes, the back-end says no (not in its virtual organization): not a green "Logged in".
        node.append(
          el('p', `Logged in as ${name}${email}, but:`),
          el('p', login.message, 'jp-OpenEOAuth-error')
        );
        return;
      }
      node.append(
        el('p', `Logged in as ${name}${email}`, 'jp-OpenEOAuth-success')
      );
      this.done(login);
      return;
    }
    node.append(
      el(
        'p',
        login.message || `The login ended: ${login.state}.`,
        'jp-OpenEOAuth-error'
      )
    );
    const retry = el('button', 'Retry', 'jp-mod-styled jp-OpenEOAuth-retry');
    retry.addEventListener('click', () => this.showForm());
    node.append(retry);
    retry.focus();
  }

  private async start(body: ILoginRequest): Promise<void> {
    try {
      this.remember(body.backend);
      const login = await this.model.startLogin(body);
      this._login = login;
      if (login.state === 'pending') {
        this.showPending(login);
      } else {
        this.showOutcome(login);
      }
    } catch (error) {
      this.showForm((error as Error).message);
    }
  }

  private async _onFinished(
    _: OpenEOAuthModel,
    ended: { login_id: string }
  ): Promise<void> {
    if (this._login?.id === ended.login_id) {
      const id = ended.login_id;
      // A login cancelled with DELETE is gone (410 `cancelled`); its sentence says how it ended.
      const login = await this.model
        .getLogin(id)
        .catch((error: OpenEOAuthError): ILogin => ({
          ...(this._login as ILogin),
          state: error.reason === 'cancelled' ? 'cancelled' : 'failed',
          message: error.message
        }));
      this.showOutcome(login);
    }
  }

  private reset(): HTMLElement {
    window.clearInterval(this._timer);
    this.node.replaceChildren();
    return this.node;
  }

  private _login: ILogin | null = null;
  private _providerTitle = '';
  private _timer = 0;
}

/** Show the login dialog; resolves with the login once it ended in the dialog (null when closed before). */
export function showLoginDialog(
  model: OpenEOAuthModel,
  backend: string,
  remember: (backend: string) => void,
  remembered = false
): Promise<ILogin | null> {
  return new Promise(resolve => {
    let result: ILogin | null = null;
    const dialog = new Dialog({
      title: 'Log in to openEO',
      body: new LoginPanel(
        model,
        backend,
        remember,
        login => {
          result = login;
          window.setTimeout(() => dialog.resolve(0), 1500);
        },
        remembered
      ),
      buttons: [Dialog.cancelButton({ label: 'Close' })]
    });
    void dialog.launch().then(() => resolve(result));
  });
}
