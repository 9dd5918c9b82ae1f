/**
 * The server card's line chart of stored temperatures. Each summary lists
 * only the ≤10 newest stored documents, so the chart collects them across
 * summaries, by `_id`, and keeps the newest {@link CHART_POINTS} in the
 * order the server received them. Drawn as SVG in CSS pixels, so text and
 * lines are not stretched.
 */
import type { StoredRow } from './summary.js';

/** Points the chart keeps. */
export const CHART_POINTS = 120;

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A point of the chart: a stored row with a finite temperature. */
type Point = StoredRow & { temp: number };

function byArrival(a: Point, b: Point): number {
  return a.receivedAt.getTime() - b.receivedAt.getTime() || (a.at?.getTime() ?? 0) - (b.at?.getTime() ?? 0) || Number(a.seq ?? 0) - Number(b.seq ?? 0);
}

/** The chart in `#chart`. */
export class Chart {
  private readonly points = new Map<string, Point>();
  private sorted: Point[] = [];

  /** @param svg - the empty `<svg>` to draw in */
  constructor(private readonly svg: SVGSVGElement) {
    this.draw();
  }

  /**
   * Adds the rows of a summary and redraws.
   *
   * @param rows - the summary's rows; only those of `type` with a finite temperature are drawn
   * @param type - the collection the chart shows
   * @param stored - how many documents of `type` the server holds; 0 (a fresh database) clears the chart
   */
  update(rows: StoredRow[], type: string, stored: number): void {
    if (stored === 0) this.points.clear();
    for (const row of rows) {
      if (row.collection === type && row.temp !== undefined && Number.isFinite(row.temp)) this.points.set(row.key, row as Point);
    }
    const sorted = [...this.points.values()].sort(byArrival);
    for (const old of sorted.splice(0, Math.max(0, sorted.length - CHART_POINTS))) this.points.delete(old.key);
    this.sorted = sorted;
    this.draw();
  }

  /** Draws the points again at the current size (on resize). */
  draw(): void {
    const points = this.sorted;
    const W = Math.max(200, Math.round(this.svg.clientWidth || 560)), H = Math.max(80, Math.round(this.svg.clientHeight || 150));
    const left = 34, right = 10, top = 10, bottom = 20;
    this.svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    const nodes: SVGElement[] = [];
    const temps = points.map((p) => p.temp);
    const lo = Math.floor(Math.min(...temps, 19)), hi = Math.ceil(Math.max(...temps, 23));
    const y = (t: number): number => top + (H - top - bottom) * (1 - (t - lo) / (hi - lo || 1));
    const x = (i: number): number => left + (W - left - right) * (points.length <= 1 ? 0.5 : i / (points.length - 1));

    const step = hi - lo > 6 ? 2 : 1;
    for (let t = lo; t <= hi; t += step) {
      nodes.push(svg('line', { x1: left, x2: W - right, y1: y(t), y2: y(t), class: 'grid' }));
      nodes.push(svg('text', { x: left - 6, y: y(t) + 3.5, class: 'axis', 'text-anchor': 'end' }, String(t)));
    }
    const last = points[points.length - 1];
    if (last === undefined) {
      nodes.push(svg('text', { x: (W + left) / 2, y: H / 2, class: 'chart-empty', 'text-anchor': 'middle' }, 'waiting for stored readings…'));
    } else {
      const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p.temp).toFixed(1)}`).join(' ');
      nodes.push(svg('path', { d: `${d} L${x(points.length - 1).toFixed(1)},${H - bottom} L${x(0).toFixed(1)},${H - bottom} Z`, class: 'area' }));
      nodes.push(svg('path', { d, class: 'line' }));
      nodes.push(svg('circle', { cx: x(points.length - 1), cy: y(last.temp), r: 3.5, class: 'dot' }));
      nodes.push(svg('text', { x: left, y: H - 5, class: 'axis' }, '← older'));
      nodes.push(svg('text', { x: W - right, y: H - 5, class: 'axis', 'text-anchor': 'end' },
        `newest: ${last.temp.toFixed(2)} °C (${last.deviceId ?? '?'} #${last.seq ?? '?'})`));
    }
    this.svg.replaceChildren(...nodes);
  }
}
