import { ILoginRequest, IProvider, LoginFlow } from './api';
import { OpenEOAuthModel } from './model';

/** Create an element with text (never HTML) and classes. */
export function el<K extends keyof HTMLElementTagNameMap>(
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

const FLOW_LABELS: Record<LoginFlow, string> = {
  device: 'Log in in the browser (device code)',
  client_credentials: "This server's service account",
  password: 'User name and password'
};

/**
 * The login dialog's first stage: which back-end, which of its providers and how to log in. It asks the
 * back-end what it offers; when the back-end cannot be reached it shows the sentence and a Retry (or, for a
 * remembered back-end, the server's default back-end instead).
 */
export class LoginForm {
  constructor(
    private readonly model: OpenEOAuthModel,
    backend: string,
    private fallBack: boolean,
    private readonly submit: (request: ILoginRequest, provider: string) => void
  ) {
    this.url.value = backend;
    this.url.setAttribute('aria-label', 'openEO back-end URL');
    this.provider.setAttribute('aria-label', 'OpenID provider');
    this.flow.setAttribute('aria-label', 'How to log in');
    const { user, password } = this;
    user.placeholder = 'user name';
    password.type = 'password';
    password.placeholder = 'password';
    password.autocomplete = 'off';
    this.credentials.append(user, password);
    this.retry.addEventListener('click', () => void this.load());
    this.url.addEventListener('change', () => void this.load());
    this.provider.addEventListener('change', () => this.showFlows());
    this.flow.addEventListener(
      'change',
      () => (this.credentials.hidden = this.flow.value !== 'password')
    );
    this.button.addEventListener('click', () => this.send());
  }

  /** The form's elements, top to bottom. */
  get parts(): HTMLElement[] {
    return [
      el('label', 'openEO back-end'),
      this.url,
      this.provider,
      this.flow,
      this.credentials,
      this.button,
      this.status,
      this.retry
    ];
  }

  /** Show why the last attempt to log in failed. */
  sayError(message: string): void {
    this.status.textContent = message;
    this.status.className = 'jp-OpenEOAuth-message jp-OpenEOAuth-error';
  }

  /** Ask the back-end in the URL field for its providers, and offer what it supports. */
  async load(): Promise<void> {
    this.status.textContent = 'Asking the back-end how to log in…';
    this.status.className = 'jp-OpenEOAuth-message';
    this.showOnly(this.flow, this.button);
    this.button.disabled = true;
    const settings = await this.model.settings().catch(() => null);
    this.serviceBackends = settings?.service_account_backends ?? [];
    const asked = this.url.value.trim();
    try {
      this.providers = (await this.model.providers(asked)).providers;
    } catch (error) {
      const fallback = settings?.default_backend ?? '';
      if (this.fallBack && fallback && fallback !== asked) {
        // The back-end used last no longer answers (a demo that ended, say): offer the server's default.
        this.fallBack = false;
        this.url.value = fallback;
        await this.load();
        this.status.textContent = `${asked}, the back-end you used last, does not answer; here is this server's default back-end. ${this.status.textContent}`;
        return;
      }
      this.sayError((error as Error).message);
      this.showOnly(this.retry);
      return;
    }
    const { providers } = this;
    this.provider.replaceChildren(
      ...providers.map(p => new Option(p.title, p.id))
    );
    this.showOnly(
      ...(providers.length > 1 ? [this.provider] : []),
      this.flow,
      this.button
    );
    this.showFlows();
    this.status.textContent =
      providers.length === 1 ? `Provider: ${providers[0].title}` : '';
    this.button.disabled = false;
  }

  private showFlows(): void {
    const chosen = this.providers.find(p => p.id === this.provider.value);
    const flows: LoginFlow[] = ['device'];
    const backend = this.url.value.trim().replace(/\/+$/, '');
    if (this.serviceBackends.includes(backend)) {
      flows.push('client_credentials');
    }
    if (chosen?.flows.includes('password')) {
      flows.push('password');
    }
    this.flow.replaceChildren(...flows.map(f => new Option(FLOW_LABELS[f], f)));
    this.credentials.hidden = true;
  }

  private showOnly(...shown: HTMLElement[]): void {
    const { provider, flow, credentials, button, retry } = this;
    for (const part of [provider, flow, credentials, button, retry]) {
      part.hidden = !shown.includes(part);
      // The dialog wraps each <select> in a div with the dropdown arrow: that row goes with it.
      const wrapper = part.parentElement;
      if (wrapper?.classList.contains('jp-select-wrapper')) {
        wrapper.hidden = part.hidden;
      }
    }
  }

  private send(): void {
    const provider = this.providers.find(p => p.id === this.provider.value);
    const byPassword = this.flow.value === 'password';
    this.submit(
      {
        backend: this.url.value.trim(),
        provider_id: this.provider.value || undefined,
        flow: (this.flow.value || 'device') as LoginFlow,
        username: byPassword ? this.user.value : undefined,
        password: byPassword ? this.password.value : undefined
      },
      provider?.title ?? ''
    );
  }

  private readonly url = el('input', '', 'jp-mod-styled jp-OpenEOAuth-backend');
  private readonly provider = el(
    'select',
    '',
    'jp-mod-styled jp-OpenEOAuth-provider'
  );
  private readonly flow = el('select', '', 'jp-mod-styled jp-OpenEOAuth-flow');
  private readonly user = el(
    'input',
    '',
    'jp-mod-styled jp-OpenEOAuth-username'
  );
  private readonly password = el(
    'input',
    '',
    'jp-mod-styled jp-OpenEOAuth-password'
  );
  private readonly credentials = el('div', '', 'jp-OpenEOAuth-credentials');
  private readonly button = el(
    'button',
    'Log in',
    'jp-mod-styled jp-mod-accept jp-OpenEOAuth-login'
  );
  private readonly status = el('p', '', 'jp-OpenEOAuth-message');
  private readonly retry = el(
    'button',
    'Retry',
    'jp-mod-styled jp-OpenEOAuth-retry'
  );
  private providers: IProvider[] = [];
  private serviceBackends: string[] = [];
}
