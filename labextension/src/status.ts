import { Widget } from '@lumino/widgets';

import { ISession } from './api';
import { OpenEOAuthModel } from './model';

/** The host of a back-end URL, for a short label. */
export function host(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** A time as the command line shows it too: 24-hour HH:MM, local time. */
export function clock(epochSeconds: number): string {
  const t = new Date(epochSeconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(t.getHours())}:${pad(t.getMinutes())}`;
}

/** Who a session belongs to, for people. */
export function who(session: ISession): string {
  return session.user.name || session.user.sub || 'an unnamed user';
}

/** The status bar text for the sessions and pending logins. */
export function statusText(model: OpenEOAuthModel): string {
  const sessions = model.current;
  if (model.pendingCount > 0) {
    return 'openEO: logging in…';
  }
  if (sessions.some(s => s.login_required)) {
    return 'openEO: log in again';
  }
  if (sessions.some(s => s.account_problem)) {
    return 'openEO: account not accepted';
  }
  const ending = sessions.find(s => s.login_ending && s.login_expires_at);
  if (ending) {
    return `openEO: log in again by ${clock(ending.login_expires_at as number)}`;
  }
  if (sessions.length === 0) {
    return 'openEO: not logged in';
  }
  const first = sessions[0];
  return sessions.length === 1
    ? `openEO: ${who(first)} @ ${host(first.backend)}`
    : `openEO: ${who(first)} +${sessions.length - 1}`;
}

/** One line per session for the tooltip. */
export function sessionLine(session: ISession): string {
  const renewed =
    session.access_expires_at === null
      ? 'token without expiry'
      : `token valid until ${clock(session.access_expires_at)} (renewed automatically)`;
  const state = session.login_required
    ? ' — log in again'
    : session.account_problem
      ? ` — ${session.account_problem}`
      : '';
  const how =
    session.flow === 'hub' ? 'through JupyterHub' : `${session.flow} login`;
  const others = (session.serves ?? []).filter(b => b !== session.backend);
  const shared = others.length
    ? ` — one login with ${others.map(host).join(', ')}`
    : '';
  const end =
    session.login_expires_at && !session.login_required
      ? ` — log in again by ${clock(session.login_expires_at)}`
      : '';
  return `${session.backend} (${session.provider_id}): ${who(session)}, ${how}, ${renewed}${shared}${end}${state}`;
}

/** The status bar item: renders the model; a click shows the account (logged in) or the login dialog. */
export class StatusItem extends Widget {
  constructor(
    private readonly model: OpenEOAuthModel,
    onClick: () => void
  ) {
    super();
    this.addClass('jp-OpenEOAuth-status');
    this.node.setAttribute('role', 'button');
    this.node.addEventListener('click', onClick);
    model.changed.connect(this.render, this);
    this.render();
  }

  render(): void {
    this.node.textContent = statusText(this.model);
    const lines = this.model.current.map(sessionLine);
    this.node.title =
      this.model.error ??
      (lines.length ? lines.join('\n') : 'Click to log in to openEO');
  }
}
