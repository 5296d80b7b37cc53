import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

import { ILogin } from './api';
// The model follows the event bus from activation on (and provides IOpenEOAuth), and the status bar item is
// registered at activation: both are needed at once.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { OpenEOAuthModel } from './model';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { clock, sessionLine, StatusItem, who } from './status';
import { IOpenEOAuth } from './tokens';

export { IOpenEOAuth } from './tokens';
export * from './api';

const PLUGIN_ID = 'jupyter-openeo-auth:plugin';

namespace CommandIDs {
  export const login = 'openeo-auth:login';
  export const logout = 'openeo-auth:logout';
  export const sessions = 'openeo-auth:sessions';
}

/** The arguments of the login and logout commands (all optional: without them, the dialog asks / every session). */
const BACKEND_ARGS = {
  type: 'object' as const,
  properties: {
    backend: { type: 'string' as const, description: 'openEO back-end URL' },
    provider_id: {
      type: 'string' as const,
      description: "The back-end's OpenID provider id (logout only)"
    }
  }
};

/** A dialog body of plain text lines (escaped: textContent). */
function textBody(lines: string[]): Widget {
  const body = new Widget();
  for (const line of lines) {
    const p = document.createElement('p');
    p.textContent = line;
    body.node.appendChild(p);
  }
  return body;
}

/** Log out of the sessions of `backend` (and `providerId`), or of every session; say what happened. */
async function logOut(
  model: OpenEOAuthModel,
  backend?: string,
  providerId?: string
): Promise<void> {
  await model.refresh();
  let targets = model.current;
  if (backend) {
    targets = targets.filter(
      s =>
        s.backend === backend && (!providerId || s.provider_id === providerId)
    );
  }
  if (targets.length === 0) {
    await showDialog({
      title: 'Log out of openEO',
      body: 'Not logged in to openEO.',
      buttons: [Dialog.okButton()]
    });
    return;
  }
  // Every log out asks first: it ends the login for every notebook, terminal and back-end it serves.
  const sure = await showDialog({
    title: 'Log out of openEO?',
    body: textBody([
      ...targets.map(sessionLine),
      'The server forgets these logins and revokes them at the provider: notebooks and terminals using them ' +
        'stop working until you log in again.'
    ]),
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Log out' })]
  });
  if (!sure.button.accept) {
    return;
  }
  const messages: string[] = [];
  for (const session of targets) {
    const result = await model.logout(session.backend, session.provider_id);
    messages.push(result.message || `Logged out of ${session.backend}.`);
  }
  await showDialog({
    title: 'Log out of openEO',
    body: textBody(messages),
    buttons: [Dialog.okButton()]
  });
}

/**
 * Who is logged in, in a dialog (a click on the status bar while logged in): per login, who, at which
 * provider, which back-ends it serves and by when it must be renewed by hand; with Log out and a login to
 * another back-end.
 */
async function showAccount(
  model: OpenEOAuthModel,
  openDialog: () => Promise<ILogin | null>
): Promise<void> {
  const body = new Widget();
  body.addClass('jp-OpenEOAuth-account');
  for (const session of model.current) {
    const section = document.createElement('dl');
    const rows: [string, string][] = [
      [
        'Logged in as',
        `${who(session)}${session.user.email ? ` (${session.user.email})` : ''}`
      ],
      [
        'Provider',
        session.issuer
          ? `${session.provider_id} (${session.issuer})`
          : session.provider_id
      ],
      [
        'Back-ends',
        (session.serves?.length ? session.serves : [session.backend]).join(', ')
      ],
      [
        'Renewal',
        session.login_required
          ? 'Log in again: the login can no longer be renewed.'
          : session.login_expires_at
            ? `Renewed automatically until ${clock(session.login_expires_at)}; log in again by then.`
            : session.flow === 'hub'
              ? 'Renewed through JupyterHub.'
              : 'Renewed automatically.'
      ]
    ];
    if (session.account_problem) {
      rows.push(['Back-end says', session.account_problem]);
    }
    for (const [term, text] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.textContent = text;
      section.append(dt, dd);
    }
    body.node.appendChild(section);
  }
  const result = await showDialog({
    title: 'openEO account',
    body,
    buttons: [
      Dialog.cancelButton({ label: 'Close' }),
      Dialog.createButton({ label: 'Log in to another back-end' }),
      Dialog.warnButton({ label: 'Log out' })
    ]
  });
  if (result.button.label === 'Log out') {
    await logOut(model);
  } else if (result.button.label === 'Log in to another back-end') {
    await openDialog();
  }
}

/** Which back-ends the server is logged in to, in a dialog. */
async function showSessions(model: OpenEOAuthModel): Promise<void> {
  await model.refresh();
  const lines = model.error ? [model.error] : model.current.map(sessionLine);
  await showDialog({
    title: 'openEO sessions',
    body: textBody(lines.length ? lines : ['Not logged in to openEO.']),
    buttons: [Dialog.okButton()]
  });
}

/** The login, logout and sessions commands. */
function addCommands(
  app: JupyterFrontEnd,
  model: OpenEOAuthModel,
  openDialog: (backend?: string) => Promise<ILogin | null>
): void {
  app.commands.addCommand(CommandIDs.login, {
    label: 'Log in to openEO…',
    caption:
      'Log in to an openEO back-end; the Jupyter server keeps the login for every notebook',
    describedBy: { args: BACKEND_ARGS },
    execute: args => openDialog(args.backend as string | undefined)
  });
  app.commands.addCommand(CommandIDs.logout, {
    label: args =>
      args.backend ? `Log out of ${args.backend}` : 'Log out of openEO',
    caption:
      'Log out of an openEO back-end: the server forgets and revokes the login',
    describedBy: { args: BACKEND_ARGS },
    execute: args =>
      logOut(
        model,
        args.backend as string | undefined,
        args.provider_id as string | undefined
      )
  });
  app.commands.addCommand(CommandIDs.sessions, {
    label: 'Show openEO sessions',
    caption: 'Which openEO back-ends this Jupyter server is logged in to',
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => showSessions(model)
  });
}

const plugin: JupyterFrontEndPlugin<IOpenEOAuth> = {
  id: PLUGIN_ID,
  description: "JupyterLab shows and drives the Jupyter server's openEO login.",
  autoStart: true,
  provides: IOpenEOAuth,
  optional: [IStatusBar, ICommandPalette, ISettingRegistry],
  activate: async (
    app: JupyterFrontEnd,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    registry: ISettingRegistry | null
  ): Promise<IOpenEOAuth> => {
    const settings = registry
      ? await registry.load(PLUGIN_ID).catch(() => null)
      : null;
    const remember = (backend: string) =>
      void settings?.set('lastBackend', backend).catch(() => undefined);
    const openDialog = async (backend?: string): Promise<ILogin | null> => {
      const last = backend
        ? ''
        : (settings?.get('lastBackend').composite as string) || '';
      let chosen = backend || last;
      if (!chosen) {
        chosen = await model.settings().then(
          s => s.default_backend,
          () => ''
        );
      }
      const { showLoginDialog } = await import('./dialog');
      return showLoginDialog(model, chosen, remember, chosen === last);
    };
    const model = new OpenEOAuthModel(
      app.serviceManager.serverSettings,
      app.serviceManager.events ?? null,
      openDialog
    );

    addCommands(app, model, openDialog);
    for (const command of [
      CommandIDs.login,
      CommandIDs.logout,
      CommandIDs.sessions
    ]) {
      palette?.addItem({ command, category: 'openEO' });
    }
    const item = new StatusItem(
      model,
      () =>
        // Logged in (and nothing pending): who, where, until when, Log out. Else: the login dialog.
        void (model.current.length && model.pendingCount === 0
          ? showAccount(model, () => openDialog(''))
          : app.commands.execute(CommandIDs.login))
    );
    if (statusBar) {
      statusBar.registerStatusItem('jupyter-openeo-auth:status', {
        item,
        align: 'left',
        rank: 100
      });
    } else {
      // Jupyter Notebook 7 has no status bar: the same item sits in its top bar, in the tree and notebook views.
      item.addClass('jp-OpenEOAuth-top');
      app.shell.add(item, 'top', { rank: 1000 });
    }
    void model.refresh();
    return model;
  }
};

export default plugin;
