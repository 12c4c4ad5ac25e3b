import { GraphqlRequestError, NetworkError } from '../client';
import { el } from './dom';

/** Messages for the operator: what an action did, or why it was refused (with the server's code). */
export class Toasts {
  readonly element = el('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });

  info(text: string): void {
    this.show(text, 'info');
  }

  error(error: unknown, doing?: string): void {
    this.show(`${doing ? `${doing}: ` : ''}${describeError(error)}`, 'error');
  }

  private show(text: string, kind: 'info' | 'error'): void {
    const toast = el('div', { class: `toast ${kind}` }, text, el('button', { class: 'dismiss', 'aria-label': 'Dismiss', onclick: () => toast.remove() }, '×'));
    this.element.append(toast);
    // Errors stay until dismissed: an operator must not miss why an action failed.
    if (kind === 'info') setTimeout(() => toast.remove(), 6000);
  }
}

export function describeError(error: unknown): string {
  if (error instanceof GraphqlRequestError) return `${error.code}: ${error.message}`;
  if (error instanceof NetworkError) return `network: ${error.message}`;
  if (Array.isArray(error)) return error.map((e: { message?: string }) => e.message ?? String(e)).join('; ');
  return error instanceof Error ? error.message : String(error);
}

/** A button that runs an async action, disabled (and marked busy) until it settles. */
export function actionButton(label: string, action: () => Promise<void>, attrs: Record<string, string> = {}): HTMLButtonElement {
  const button = el('button', { type: 'button', ...attrs }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      await action();
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  });
  return button;
}

export function panel(title: string, id: string, ...children: Array<Node | string>): HTMLElement {
  return el('section', { class: 'panel', id, 'aria-labelledby': `${id}-title` }, el('h2', { id: `${id}-title` }, title), ...children);
}

export function table(headers: string[], rows: HTMLTableRowElement[], empty: string): HTMLElement {
  if (rows.length === 0) return el('p', { class: 'empty' }, empty);
  return el('table', {}, el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, ...rows));
}
