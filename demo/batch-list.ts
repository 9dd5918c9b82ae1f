/**
 * The device card's list of delivered batches: one line per `uploaded`
 * event, with how many records the server confirmed, how many were left,
 * and which wake-up of the service worker delivered them (the event's
 * `via`: a page message, Background Sync, the worker's start-up, …). It
 * shows that uploads need no open page: sync and start-up do it too.
 */
import type { IngestEvents } from '../lib/index.js';
import { byId, el, NUMBER_FORMAT, TIME_FORMAT } from './dom.js';

/** How many batches the list keeps, newest first. */
export const BATCHES_SHOWN = 5;

type Uploaded = IngestEvents['uploaded'];
type Via = NonNullable<Uploaded['via']>;

/** What each `via` is called on the page, and what it means. */
const VIA_LABELS: Record<Via, { label: string; title: string }> = {
  message: { label: 'page message', title: 'A page woke the service worker with a message (after ingest(), resume(), or on opening)' },
  sync: { label: 'Background Sync', title: "The browser's Background Sync event: it also fires with no tab open, once the network is back" },
  startup: { label: 'worker start-up', title: 'The service worker started (and looked for queued records)' },
  activate: { label: 'worker activation', title: 'A new service worker version activated' },
  online: { label: 'online', title: "The service worker's own online event" },
  flush: { label: 'flush', title: 'client.flush(): uploads at once and waits until the outbox is empty' },
};

/** `#batches`: the latest delivered batches. */
export class BatchList {
  private readonly list = byId<HTMLOListElement>('batches');
  private delivered = 0;

  /**
   * Puts a delivered batch at the top of the list.
   *
   * @param batch - an `uploaded` event's detail
   */
  add(batch: Uploaded): void {
    if (this.delivered++ === 0) this.list.replaceChildren();
    const item = el('li');
    const via = batch.via === undefined ? undefined : VIA_LABELS[batch.via];
    item.dataset.via = batch.via ?? 'unknown';
    const tag = el('span', 'via', via?.label ?? 'not said');
    tag.title = via?.title ?? 'This service worker does not say which wake-up delivered the batch';
    item.append(
      el('span', 'time', TIME_FORMAT.format(new Date())),
      el('b', 'count', NUMBER_FORMAT.format(batch.count)),
      ` record${batch.count === 1 ? '' : 's'} via `,
      tag,
      el('span', 'muted left', `${NUMBER_FORMAT.format(batch.pending)} left`),
    );
    this.list.prepend(item);
    while (this.list.children.length > BATCHES_SHOWN) this.list.lastElementChild!.remove();
  }
}
