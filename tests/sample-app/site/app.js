// The sample app: each saved note is ingested with sw-ingest; its service
// worker uploads them, also after this tab has closed.
const schema = [{
  name: 'Note', asymmetric: true, primaryKey: '_id',
  properties: { _id: 'objectId', text: 'string', at: 'date' }, // as in ../schema.json, which the server gets
}];

const status = document.querySelector('#status');
const form = document.querySelector('#note');
let saved = 0;

const client = await SwIngest.open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema });
status.textContent = 'ready';

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = form.elements.text.value;
  form.reset();
  await client.ingest('Note', { text, at: new Date() }); // resolves once the note is in IndexedDB
  status.textContent = `saved ${++saved}`;
});
