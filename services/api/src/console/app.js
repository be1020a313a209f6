// HR console: sign in with a key, upload a roster, follow it, list who needs action, download the CSV.
// Vanilla DOM, no framework or build step; everything user-supplied is written with textContent.
import { ApiError, call, describeError, getJson, keyStore, query } from './api.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
const PAGE = 50;
const STATUSES = ['queued', 'processing', 'completed', 'failed'];
const OUTCOMES = ['RISKLESS', 'RISKY', 'NOT_FOUND', 'EXPIRED', 'INVALID'];

/** The action categories and the filter each one reads. */
const CATEGORIES = [
  { id: 'RISKY', filter: { outcome: 'RISKY' }, reason: 'RISKY' },
  { id: 'NOT_FOUND', filter: { outcome: 'NOT_FOUND' }, reason: 'NOT_FOUND: code unknown to the Ministry' },
  { id: 'EXPIRED', filter: { outcome: 'EXPIRED' }, reason: 'EXPIRED code' },
  { id: 'failed', filter: { status: 'failed' }, reason: 'failed' },
  {
    id: 'mismatch',
    filter: { identityMatch: false },
    reason: 'identity mismatch: code belongs to someone else',
  },
];

const state = { batchId: null, poll: null, generation: 0, list: null };

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function showError(err) {
  const box = $('error');
  box.textContent = typeof err === 'string' ? err : describeError(err);
  box.hidden = false;
  if (err instanceof ApiError && err.status === 401) signOut(false);
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

function signedIn(on) {
  $('key-section').hidden = on;
  $('upload-section').hidden = !on;
  $('recent-section').hidden = !on;
  $('forget-key').hidden = !on;
  if (!on) $('batch-section').hidden = true;
}

function signOut(clearMessage = true) {
  keyStore.clear();
  stopPolling();
  state.batchId = null;
  signedIn(false);
  if (clearMessage) clearError();
  $('api-key').focus();
}

function stopPolling() {
  if (state.poll !== null) clearTimeout(state.poll);
  state.poll = null;
}

// ---- recent batches -------------------------------------------------------------------------------

async function loadRecent() {
  const { items } = await getJson(`/v1/batches${query({ limit: 10 })}`);
  const body = $('recent-table').tBodies[0];
  body.replaceChildren();
  for (const b of items) {
    const tr = document.createElement('tr');
    const done = b.counts.completed + b.counts.failed;
    tr.append(
      cell(`${b.createdAt.slice(0, 19).replace('T', ' ')}`),
      cell(b.kind),
      cell(b.status),
      cell(String(done), 'num'),
      cell(String(b.total), 'num'),
    );
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'secondary';
    open.textContent = 'Open';
    open.setAttribute('aria-label', `Open batch ${b.id}`);
    open.addEventListener('click', () => openBatch(b.id).catch(showError));
    const td = document.createElement('td');
    td.append(open);
    tr.append(td);
    body.append(tr);
  }
  if (items.length === 0) {
    const tr = document.createElement('tr');
    const td = cell('No batches yet.');
    td.colSpan = 6;
    tr.append(td);
    body.append(tr);
  }
}

// ---- one batch: progress and counts ---------------------------------------------------------------

function fillCounts(tableId, keys, values) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren();
  for (const k of keys) {
    const tr = document.createElement('tr');
    tr.dataset.key = k;
    tr.append(cell(k), cell(String(values[k] ?? 0), 'num'));
    body.append(tr);
  }
}

function render(batch) {
  const done = batch.counts.completed + batch.counts.failed;
  const percent = batch.total === 0 ? 100 : Math.floor((done * 100) / batch.total);
  $('batch-id').textContent = batch.id;
  $('batch-meta').textContent = `${batch.kind} · ${batch.total} checks · submitted ${batch.createdAt}`;
  $('batch-progress').value = percent;
  $('progress-text').textContent =
    batch.status === 'completed'
      ? `Completed: ${done} of ${batch.total} checks final (${batch.counts.failed} failed)`
      : `${batch.status === 'queued' ? 'Queued' : 'Running'}: ${done} of ${batch.total} checks done (${percent}%)`;
  $('batch-section').dataset.status = batch.status;
  fillCounts('status-counts', STATUSES, batch.counts);
  fillCounts('outcome-counts', OUTCOMES, batch.outcomes);
  $('download-csv').disabled = false;
}

async function openBatch(id) {
  clearError();
  stopPolling();
  const generation = ++state.generation;
  state.batchId = id;
  $('batch-section').hidden = false;
  $('action-table').tBodies[0].replaceChildren();
  $('action-summary').textContent = '';
  $('action-more').hidden = true;
  $('download-status').textContent = '';
  await follow(id, generation);
}

/** Polls until every check is final, then lists who needs action. */
async function follow(id, generation) {
  if (generation !== state.generation) return;
  let batch;
  try {
    batch = await getJson(`/v1/batches/${encodeURIComponent(id)}`);
  } catch (err) {
    showError(err);
    if (err instanceof ApiError && err.status === 429)
      state.poll = setTimeout(() => follow(id, generation), 3000);
    return;
  }
  if (generation !== state.generation) return;
  render(batch);
  if (batch.status === 'completed') {
    await startActionList();
    loadRecent().catch(showError);
    return;
  }
  state.poll = setTimeout(() => follow(id, generation), POLL_MS);
}

// ---- people needing action ------------------------------------------------------------------------

function reasonsOf(check, category) {
  const reasons = [category.reason];
  if (category.id !== 'failed' && check.error) reasons.push(check.error.code);
  if (category.id === 'failed' && check.error) reasons[0] = `failed: ${check.error.code}`;
  return reasons.join('; ');
}

function addRow(check, category) {
  const body = $('action-table').tBodies[0];
  const existing = body.querySelector(`tr[data-check-id="${CSS.escape(check.id)}"]`);
  if (existing) {
    const reason = existing.querySelector('td.reason');
    reason.textContent = `${reason.textContent}; ${reasonsOf(check, category)}`;
    return false;
  }
  const tr = document.createElement('tr');
  tr.dataset.checkId = check.id;
  const person = check.person ?? {};
  const name = [person.maskedFirstName, person.maskedLastName].filter(Boolean).join(' ').trim();
  tr.append(
    cell(check.reference ?? '—'),
    cell(check.hesCode),
    cell(name || '—'),
    cell(person.maskedIdentityNumber ?? '—'),
    cell(reasonsOf(check, category), 'reason'),
  );
  body.append(tr);
  return true;
}

async function startActionList() {
  const selected = $('action-filter').value;
  state.list = {
    batchId: state.batchId,
    categories: CATEGORIES.filter((c) => selected === 'all' || c.id === selected),
    index: 0,
    cursor: null,
    people: 0,
  };
  $('action-table').tBodies[0].replaceChildren();
  await loadMore();
}

/** The next page: the current category's next page, or the first page of the next category. */
async function loadMore() {
  const list = state.list;
  if (!list) return;
  let added = 0;
  while (list.index < list.categories.length && added < PAGE) {
    const category = list.categories[list.index];
    const page = await getJson(
      `/v1/batches/${encodeURIComponent(list.batchId)}/checks${query({ ...category.filter, limit: PAGE, cursor: list.cursor })}`,
    );
    if (state.list !== list) return;
    for (const check of page.items) if (addRow(check, category)) added++;
    list.cursor = page.nextCursor;
    if (list.cursor === null) list.index++;
  }
  list.people += added;
  const more = list.index < list.categories.length;
  $('action-more').hidden = !more;
  $('action-summary').textContent =
    list.people === 0
      ? 'Nobody needs action.'
      : `${list.people} ${list.people === 1 ? 'person needs' : 'people need'} action${more ? ' (more to load)' : ''}.`;
}

// ---- download -------------------------------------------------------------------------------------

async function downloadCsv() {
  const id = state.batchId;
  if (!id) return;
  $('download-status').textContent = 'Preparing the CSV…';
  const res = await call(`/v1/batches/${encodeURIComponent(id)}/checks`, { accept: 'text/csv' });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = `batch-${id}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  $('download-status').textContent = `Downloaded batch-${id}.csv`;
}

// ---- wiring ---------------------------------------------------------------------------------------

async function useKey(key) {
  keyStore.set(key);
  clearError();
  // Probe the key with a read: a wrong key is reported here, not at the first upload.
  await loadRecent();
  signedIn(true);
  $('roster-file').focus();
}

async function upload() {
  const file = $('roster-file').files[0];
  if (!file) {
    showError('Choose a roster file (.csv or .json) first.');
    return;
  }
  const kind = $('roster-kind').value;
  const json = file.name.toLowerCase().endsWith('.json') || file.type === 'application/json';
  $('upload-button').disabled = true;
  try {
    const res = await call(`/v1/batches${query({ kind })}`, {
      method: 'POST',
      body: file,
      contentType: json ? 'application/json' : 'text/csv',
    });
    const batch = await res.json();
    clearError();
    await openBatch(batch.id);
  } finally {
    $('upload-button').disabled = false;
  }
}

function init() {
  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('api-key').value.trim();
    if (!key) {
      showError('Enter an API key.');
      return;
    }
    $('api-key').value = '';
    useKey(key).catch((err) => {
      keyStore.clear();
      signedIn(false);
      showError(err);
    });
  });
  $('forget-key').addEventListener('click', () => signOut());
  $('upload-form').addEventListener('submit', (e) => {
    e.preventDefault();
    upload().catch(showError);
  });
  $('download-csv').addEventListener('click', () => downloadCsv().catch(showError));
  $('action-more').addEventListener('click', () => loadMore().catch(showError));
  $('action-filter').addEventListener('change', () => {
    if (state.batchId && $('batch-section').dataset.status === 'completed')
      startActionList().catch(showError);
  });
  $('recent-refresh').addEventListener('click', () => loadRecent().catch(showError));

  if (keyStore.get()) {
    signedIn(true);
    loadRecent().catch(showError);
  } else {
    signedIn(false);
  }
}

init();
