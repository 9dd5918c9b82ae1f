/**
 * The device card's status line and "Last error" line: the one place the
 * page tells the user what just happened. The sensor and the device panel
 * both write to it.
 */
import { IngestError } from '../lib/index.js';
import { byId, el, TIME_FORMAT } from './dom.js';

/** How the status line is coloured. */
export type StatusKind = 'info' | 'ok' | 'error';

/** A failure as `{code, message}`: an `IngestError`'s code, else the error's name. */
export function describeError(e: unknown): { code: string; message: string } {
  if (e instanceof IngestError) return { code: e.code, message: e.message };
  if (e instanceof Error) return { code: e.name, message: e.message };
  return { code: 'error', message: String(e) };
}

/** Writes `#status` and `#last-error`. */
export class StatusLine {
  private readonly status = byId('status');
  private readonly lastError = byId('last-error');

  /** What the status line says now, and how it is coloured. */
  get kind(): StatusKind {
    return (this.status.dataset.kind as StatusKind | undefined) ?? 'info';
  }

  /**
   * Replaces the status line.
   *
   * @param text - one sentence of what happened
   * @param kind - its colour @default 'info'
   */
  say(text: string, kind: StatusKind = 'info'): void {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  /**
   * Shows `e` in the "Last error" line, with its code, where it came from
   * and when; it stays until the next error.
   *
   * @param context - what failed, e.g. `upload` or `flush`
   * @param e - the failure
   */
  showError(context: string, e: unknown): void {
    const { code, message } = describeError(e);
    this.lastError.hidden = false;
    this.lastError.replaceChildren(
      el('span', 'error-label', 'Last error'),
      ' ',
      el('code', 'error-code', code),
      ' ',
      el('span', 'muted', `(${context}, ${TIME_FORMAT.format(new Date())})`),
      el('br'),
      message,
    );
  }
}
