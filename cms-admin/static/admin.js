// Keepsake admin: live Markdown preview, rendered by the server's own sanitising renderer.
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute('content') : '';
  document.querySelectorAll('textarea[data-preview]').forEach(function (area) {
    var target = document.getElementById(area.getAttribute('data-preview'));
    if (!target) return;
    var timer = null;
    var seq = 0;
    function refresh() {
      var mine = ++seq;
      var body = new URLSearchParams();
      body.set('body', area.value);
      fetch('/admin/preview', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': token },
        body: body.toString(),
        credentials: 'same-origin'
      }).then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { if (mine === seq) target.innerHTML = html; })
        .catch(function () { if (mine === seq) target.textContent = 'The preview is unavailable right now.'; });
    }
    area.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
    refresh();
  });
})();

// The gallery: select all, drag to reorder, the upload queue, live import progress.
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute('content') : '';

  var all = document.getElementById('select-all');
  if (all) {
    all.addEventListener('change', function () {
      document.querySelectorAll('#grid input[name=ids]').forEach(function (b) { b.checked = all.checked; });
    });
  }

  var grid = document.getElementById('grid');
  if (grid) {
    var dragged = null;
    grid.addEventListener('dragstart', function (e) { dragged = e.target.closest('li'); });
    grid.addEventListener('dragover', function (e) {
      e.preventDefault();
      var over = e.target.closest('li');
      if (!dragged || !over || over === dragged) return;
      var rect = over.getBoundingClientRect();
      grid.insertBefore(dragged, (e.clientX - rect.left) > rect.width / 2 ? over.nextSibling : over);
    });
    grid.addEventListener('drop', function (e) {
      e.preventDefault();
      var body = new URLSearchParams();
      grid.querySelectorAll('li[data-id]').forEach(function (li) { body.append('ids', li.getAttribute('data-id')); });
      fetch(grid.getAttribute('data-order'), {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': token },
        body: body.toString()
      });
    });
  }

  var up = document.querySelector('[data-upload]');
  if (up) {
    var url = up.getAttribute('data-upload');
    var maxBytes = parseInt(up.getAttribute('data-max-mb'), 10) * 1024 * 1024;
    var input = document.getElementById('upload-files');
    var list = document.getElementById('upload-queue');
    var summary = document.getElementById('upload-summary');
    var retry = document.getElementById('upload-retry');
    var queue = [];
    var running = false;
    function item(file) {
      var li = document.createElement('li');
      var name = document.createElement('span');
      name.textContent = file.name;
      var bar = document.createElement('progress');
      bar.max = 1; bar.value = 0;
      var state = document.createElement('span');
      state.className = 'state';
      li.append(name, ' ', bar, ' ', state);
      list.appendChild(li);
      return { file: file, li: li, bar: bar, state: state, done: false };
    }
    function count() {
      var ok = queue.filter(function (q) { return q.done; }).length;
      var failed = queue.filter(function (q) { return q.failed; }).length;
      summary.textContent = ok + ' of ' + queue.length + ' uploaded' + (failed ? ', ' + failed + ' failed' : '');
      retry.hidden = failed === 0 || running;
    }
    function send(q) {
      return new Promise(function (resolve) {
        if (q.file.size > maxBytes) { q.failed = true; q.state.textContent = 'too large'; q.li.className = 'failed'; resolve(); return; }
        var xhr = new XMLHttpRequest();
        xhr.open('POST', url);
        xhr.setRequestHeader('X-CSRF-Token', token);
        xhr.upload.onprogress = function (e) { if (e.lengthComputable) q.bar.value = e.loaded / e.total; };
        xhr.onload = function () {
          var r = {};
          try { r = JSON.parse(xhr.responseText); } catch (err) { r = { ok: false, error: 'HTTP ' + xhr.status }; }
          if (xhr.status === 200 && r.ok) {
            q.done = true; q.failed = false; q.bar.value = 1;
            q.state.textContent = r.duplicate ? 'already in the album' : 'done';
            q.li.className = 'done';
          } else {
            q.failed = true; q.state.textContent = r.error || ('HTTP ' + xhr.status); q.li.className = 'failed';
          }
          resolve();
        };
        xhr.onerror = function () { q.failed = true; q.state.textContent = 'network error, retry later'; q.li.className = 'failed'; resolve(); };
        var form = new FormData();
        form.append('file', q.file, q.file.name);
        xhr.send(form);
      });
    }
    async function run() {
      if (running) return;
      running = true; count();
      for (var i = 0; i < queue.length; i += 1) {
        var q = queue[i];
        if (q.done || (q.failed && !q.retry)) continue;
        q.retry = false; q.state.textContent = 'uploading…';
        await send(q);
        count();
      }
      running = false; count();
      if (up.hasAttribute('data-reload') && queue.some(function (q) { return q.done; })) { location.reload(); }
    }
    document.getElementById('upload-start').addEventListener('click', function () {
      Array.prototype.forEach.call(input.files, function (f) { queue.push(item(f)); });
      input.value = '';
      run();
    });
    retry.addEventListener('click', function () {
      queue.forEach(function (q) { if (q.failed) { q.retry = true; q.failed = false; } });
      run();
    });
  }

  document.querySelectorAll('[data-progress]').forEach(function (li) {
    var bar = li.querySelector('progress');
    var detail = li.querySelector('.detail');
    var status = li.querySelector('.status');
    function poll() {
      fetch(li.getAttribute('data-progress'), { credentials: 'same-origin' })
        .then(function (r) { return r.json(); })
        .then(function (j) {
          var p = j.progress || {};
          status.textContent = j.status;
          if (p.total) { bar.value = (p.done || 0) / p.total; }
          if (p.error || j.error) { detail.textContent = p.error || j.error; return; }
          detail.textContent = p.finished && p.summary ? p.summary : p.finished
            ? (p.imported + ' imported, ' + p.duplicates + ' already there' + (p.skipped && p.skipped.length ? ', ' + p.skipped.length + ' skipped: ' + p.skipped.join('; ') : ''))
            : ((p.done || 0) + ' of ' + (p.total || '?') + (p.album ? ' — ' + p.album : ''));
          if (!p.finished && j.status !== 'failed' && j.status !== 'done') setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    }
    poll();
  });
})();
