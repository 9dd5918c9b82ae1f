// The OPFS contender of `npm run bench` (bench/site/page.ts, opfsJournalAwaited):
// appends each record it is sent to one file and flushes it before replying.
let handle;
onmessage = async (e) => {
  try {
    if (e.data === 'open') {
      const root = await navigator.storage.getDirectory();
      const file = await root.getFileHandle('bench-journal', { create: true });
      handle = await file.createSyncAccessHandle();
    } else {
      handle.write(e.data, { at: handle.getSize() });
      handle.flush();
    }
    postMessage({ ok: true });
  } catch (err) {
    postMessage({ ok: false, error: String(err) });
  }
};
