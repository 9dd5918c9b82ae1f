/**
 * The sw-ingest demo page, composed: a simulated sensor (sensor.ts) ingests
 * `Reading`s through the library; the device card (device-panel.ts) shows
 * what the outbox and its service worker do, from the library's events; the
 * server card (server-panel.ts) shows what the server stores, from its own
 * `--demo` routes, and can take the server down. Plain DOM, no framework.
 */
import { open, type IngestClient, type ObjectSchema } from '../lib/index.js';
import { DevicePanel } from './device-panel.js';
import { byId, el, setPill } from './dom.js';
import schemaJson from './schema.json';
import { Sensor } from './sensor.js';
import { ServerPanel } from './server-panel.js';
import { describeError, StatusLine } from './status-line.js';

const schema = schemaJson as ObjectSchema[];

/** Opens the outbox and starts both cards; the server card works even when the outbox cannot open. */
async function start(): Promise<void> {
  new ServerPanel().start();
  byId('bg-sync').textContent = 'SyncManager' in window
    ? 'yes: uploads even after the tab closes'
    : 'no: uploads while a page is open';

  const status = new StatusLine();
  let client: IngestClient;
  try {
    client = await open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema });
  } catch (e) {
    const { code, message } = describeError(e);
    setPill(byId('device-state'), 'error', 'not open');
    status.say(`Could not open the outbox (${code}); see the message above.`, 'error');
    const banner = byId('open-error');
    banner.hidden = false;
    banner.replaceChildren(
      el('b', undefined, 'open() failed '), el('code', undefined, code), ': ', message,
      el('br'),
      'The device panel is disabled. Service workers need https or localhost, and a browser profile with IndexedDB (not every private mode has it).',
    );
    return;
  }

  const sensor = new Sensor(client, status);
  await new DevicePanel(client, status, sensor).start();
  sensor.enable(); // after the panel listens, so that it sees every reading queued
  status.say('Ready: the outbox is open and the service worker is active.', 'ok');
  document.body.dataset.ready = 'true';
}

void start();
