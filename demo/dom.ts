/**
 * The few DOM helpers every part of the demo page uses: finding an element
 * of index.html, making one, a status pill, and the number and time
 * formats. Plain DOM, no framework.
 */

/** Thousands separators, as the page shows every count (`1,000`). */
export const NUMBER_FORMAT = new Intl.NumberFormat('en-US');
/** 24-hour `hh:mm:ss`, the page's clock format. */
export const TIME_FORMAT = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/**
 * The element of index.html with this id.
 *
 * @param id - its `id`
 * @throws Error naming the id when index.html lacks it
 */
export function byId<T extends Element = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`demo: #${id} is missing from index.html`);
  return node as unknown as T;
}

/**
 * A new element.
 *
 * @param tag - its tag name
 * @param className - its class, if any
 * @param text - its text, if any
 * @example
 * ```ts
 * el('code', 'error-code', 'database-unavailable');
 * ```
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** What a status pill says; style.css colours each state. */
export type PillState = 'starting' | 'ok' | 'busy' | 'warn' | 'error';

/**
 * Sets a status pill (`.pill`) of a card head.
 *
 * @param pill - the pill element
 * @param state - its colour
 * @param text - its text
 */
export function setPill(pill: HTMLElement, state: PillState, text: string): void {
  pill.dataset.state = state;
  pill.textContent = text;
}
