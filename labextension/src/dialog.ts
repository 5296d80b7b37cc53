import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { ILogin, IProvider, LoginFlow } from './api';
import { OpenEOAuthModel } from './model';

/** Create an element with text (never HTML) and classes. */
function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text = '',
  cls = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.textContent = text;
  if (cls) {
    node.className = cls;
  }
  return node;
}

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

const FLOW_LABELS: Record<LoginFlow, string> = {
  device: 'Log in in the browser (device code)',
  client_credentials: "This server's service account",
  password: 'User name and password'
};

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
  }

  dispose(): void {
    window.clearInterval(this._timer);
    if (this._login?.state === 'pending') {
      void this.model.cancelLogin(this._login.id);
    }
    super.dispose();
  }

  /** Stage 1: where and how to log in. */
  showForm(message = ''): void {
    const node = this.reset();
    const url = el('input', '', 'jp-mod-styled jp-OpenEOAuth-backend');
    url.value = this.backend;
    url.setAttribute('aria-label', 'openEO back-end URL');
    const provider = el('select', '', 'jp-mod-styled jp-OpenEOAuth-provider');
    provider.setAttribute('aria-label', 'OpenID provider');
    const flow = el('select', '', 'jp-mod-styled jp-OpenEOAuth-flow');
    flow.setAttribute('aria-label', 'How to log in');
    const user = el('input', '', 'jp-mod-styled jp-OpenEOAuth-username');
    user.placeholder = 'user name';
    const password = el('input', '', 'jp-mod-styled jp-OpenEOAuth-password');
    password.type = 'password';
    password.placeholder = 'password';
    password.autocomplete = 'off';
    const credentials = el('div', '', 'jp-OpenEOAuth-credentials');
    credentials.append(user, password);
    const status = el('p', message, 'jp-OpenEOAuth-message');
    const button = el(
      'button',
      'Log in',
      'jp-mod-styled jp-mod-accept jp-OpenEOAuth-login'
    );
    const retry = el('button', 'Retry', 'jp-mod-styled jp-OpenEOAuth-retry');
    let providers: IProvider[] = [];
    let serviceBackends: string[] = [];
    let fallBack = this.remembered;

    const showFlows = () => {
      const chosen = providers.find(p => p.id === provider.value);
      const flows: LoginFlow[] = ['device'];
      if (serviceBackends.includes(url.value.trim().replace(/\/+$/, ''))) {
        flows.push('client_credentials');
      }
      if (chosen?.flows.includes('password')) {
        flows.push('password');
      }
      flow.replaceChildren(...flows.map(f => new Option(FLOW_LABELS[f], f)));
      credentials.hidden = true;
    };
    const showOnly = (...shown: HTMLElement[]) => {
      for (const part of [provider, flow, credentials, button, retry]) {
        part.hidden = !shown.includes(part);
        // The dialog wraps each <select> in a div with the dropdown arrow: that row goes with it.
        const wrapper = part.parentElement;
        if (wrapper?.classList.contains('jp-select-wrapper')) {
          wrapper.hidden = part.hidden;
        }
      }
    };
    const load = async (): Promise<void> => {
      status.textContent = 'Asking the back-end how to log in…';
      status.className = 'jp-OpenEOAuth-message';
      showOnly(flow, button);
      button.disabled = true;
      const settings = await this.model.settings().catch(() => null);
      serviceBackends = settings?.service_account_backends ?? [];
      const asked = url.value.trim();
      try {
        providers = (await this.model.providers(asked)).providers;
      } catch (error) {
        const fallback = settings?.default_backend ?? '';
        if (fallBack && fallback && fallback !== asked) {
          // The back-end used last no longer answers (a demo that ended, say): offer the server's default.
          fallBack = false;
          url.value = fallback;
          await load();
          status.textContent = `${asked}, the back-end you used last, does not answer; here is this server's default back-end. ${status.textContent}`;
          return;
        }
        status.textContent = (error as Error).message;
        status.className = 'jp-OpenEOAuth-message jp-OpenEOAuth-error';
        showOnly(retry);
        return;
      }
      provider.replaceChildren(
        ...providers.map(p => new Option(p.title, p.id))
      );
      showOnly(...(providers.length > 1 ? [provider] : []), flow, button);
      showFlows();
      status.textContent =
        providers.length === 1 ? `Provider: ${providers[0].title}` : '';
      button.disabled = false;
    };
    retry.addEventListener('click', () => void load());
    url.addEventListener('change', () => void load());
    provider.addEventListener('change', showFlows);
    flow.addEventListener(
      'change',
      () => (credentials.hidden = flow.value !== 'password')
    );
    button.addEventListener('click', () => {
      this._providerTitle =
        providers.find(p => p.id === provider.value)?.title ?? '';
      void this.start({
        backend: url.value.trim(),
        provider_id: provider.value || undefined,
        flow: (flow.value || 'device') as LoginFlow,
        username: flow.value === 'password' ? user.value : undefined,
        password: flow.value === 'password' ? password.value : undefined
      });
    });
    node.append(
      el('label', 'openEO back-end'),
      url,
      provider,
      flow,
      credentials,
      button,
      status,
      retry
    );
    void load().then(() => {
      if (message) {
        status.textContent = message; // why the last attempt to log in failed
        status.className = 'jp-OpenEOAuth-message jp-OpenEOAuth-error';
      }
    });
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
    const code = el('div', login.user_code || '', 'jp-OpenEOAuth-code');
    const copy = el('button', 'Copy code', 'jp-mod-styled jp-OpenEOAuth-copy');
    copy.addEventListener(
      'click',
      () => void navigator.clipboard?.writeText(login.user_code || '')
    );
    const qr = el('div', '', 'jp-OpenEOAuth-qr');
    if (login.qr_svg) {
      qr.innerHTML = login.qr_svg; // rendered by the server with segno from the link: no provider text in it
    }
    const countdown = el('p', '', 'jp-OpenEOAuth-countdown');
    const tick = () => {
      const left = Math.max(
        0,
        Math.round((login.expires_at ?? 0) - Date.now() / 1000)
      );
      countdown.textContent = `The code expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}.`;
    };
    tick();
    this._timer = window.setInterval(tick, 1000);
    const cancel = el('button', 'Cancel', 'jp-mod-styled jp-OpenEOAuth-cancel');
    cancel.addEventListener('click', async () =>
      this.showOutcome(await this.model.cancelLogin(login.id))
    );
    const row = el('div', '', 'jp-OpenEOAuth-row');
    row.append(code, copy);
    const where = this._providerTitle || login.provider_id;
    node.append(
      el('p', `Open the login page of ${where}, log in, and enter this code:`),
      open,
      row,
      qr,
      countdown,
      cancel
    );
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
  }

  private async start(body: {
    backend: string;
    provider_id?: string;
    flow: LoginFlow;
    username?: string;
    password?: string;
  }): Promise<void> {
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
      this.showOutcome(await this.model.getLogin(ended.login_id));
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
