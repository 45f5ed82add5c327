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
    var order = function () {
      var body = new URLSearchParams();
      grid.querySelectorAll('li[data-id]').forEach(function (li) { body.append('ids', li.getAttribute('data-id')); });
      return fetch(grid.getAttribute('data-order'), {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': token },
        body: body.toString()
      });
    };
    // Keyboard reordering: Alt with an arrow key moves the focused photo one place.
    var said = document.getElementById('grid-status');
    grid.addEventListener('keydown', function (e) {
      if (!e.altKey || ['ArrowLeft', 'ArrowUp', 'ArrowRight', 'ArrowDown'].indexOf(e.key) < 0) return;
      var li = e.target.closest('li[data-id]');
      if (!li) return;
      var earlier = e.key === 'ArrowLeft' || e.key === 'ArrowUp';
      var other = earlier ? li.previousElementSibling : li.nextElementSibling;
      if (!other) return;
      e.preventDefault();
      grid.insertBefore(li, earlier ? other : other.nextSibling);
      e.target.focus();
      var place = Array.prototype.indexOf.call(grid.children, li) + 1;
      order().then(function (r) {
        if (said) said.textContent = r.ok ? 'Moved to place ' + place + ' on this page.' : 'The new order could not be saved.';
      });
    });
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
      order();
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
      var ok = queue.filter(function (q) { return q.done && !q.duplicate; }).length;
      var dup = queue.filter(function (q) { return q.done && q.duplicate; }).length;
      var failed = queue.filter(function (q) { return q.failed; }).length;
      var parts = [ok + ' of ' + queue.length + ' uploaded'];
      if (dup) parts.push(dup + ' already in the album');
      if (failed) parts.push(failed + ' failed');
      summary.textContent = parts.join(', ');
      retry.hidden = failed === 0 || running;
    }
    // The grid shows a new photo at once, and the heading its new count.
    function shown(r) {
      var heading = document.getElementById('photo-count');
      if (heading && typeof r.count === 'number') heading.textContent = String(r.count);
      var g = document.getElementById('grid');
      if (!g || !r.photo_id || !r.thumb) return;
      var li = document.createElement('li');
      li.setAttribute('data-id', String(r.photo_id));
      li.setAttribute('draggable', 'true');
      var label = document.createElement('label');
      var box = document.createElement('input');
      box.type = 'checkbox'; box.name = 'ids'; box.value = String(r.photo_id);
      box.setAttribute('aria-label', 'Select ' + (r.name || 'photo ' + r.photo_id));
      var img = document.createElement('img');
      img.src = r.thumb; img.alt = ''; img.width = 160; img.height = 90;
      label.append(box, img);
      var name = document.createElement('span');
      name.className = 'name'; name.textContent = r.name || '';
      li.append(label, name);
      g.append(li);
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
            q.duplicate = !!r.duplicate;
            q.state.textContent = r.duplicate ? 'already in the album' : 'done';
            q.li.className = r.duplicate ? 'done duplicate' : 'done';
            if (!r.duplicate) shown(r);
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

// "Choose from the gallery": a dialog next to every photo-number field (a post's featured
// photo, the site's header image) that finds albums by title or category and shows their
// photos as thumbnails; a click fills in the number. The field still takes a typed number.
(function () {
  'use strict';
  var fields = document.querySelectorAll('input[data-photo-picker]');
  if (!fields.length || typeof HTMLDialogElement === 'undefined') return;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) e.textContent = text;
    return e;
  }

  var dialog = el('dialog', { class: 'picker', 'aria-labelledby': 'picker-title' });
  var heading = el('h2', { id: 'picker-title' }, 'Choose a photo');
  var search = el('input', { type: 'search', placeholder: 'Album or category', 'aria-label': 'Find an album' });
  var back = el('button', { type: 'button', class: 'link', hidden: '' }, '← All albums');
  var close = el('button', { type: 'button', class: 'link picker-close' }, 'Close');
  var status = el('p', { class: 'hint', role: 'status' });
  var list = el('ul', { class: 'picker-grid' });
  var more = el('button', { type: 'button', hidden: '' }, 'More photos');
  var bar = el('div', { class: 'picker-bar' });
  bar.append(heading, search, back, close);
  dialog.append(bar, status, list, more);
  document.body.append(dialog);

  var target = null;
  var album = null;
  var page = 1;
  var seq = 0;

  function load(url, append) {
    var mine = ++seq;
    status.textContent = 'Loading…';
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        if (mine !== seq) return;
        if (!res.ok) { status.textContent = res.data.error || 'The gallery could not be read just now.'; return; }
        if (!append) list.textContent = '';
        if (res.data.albums) showAlbums(res.data.albums); else showPhotos(res.data);
      })
      .catch(function () { if (mine === seq) status.textContent = 'The gallery could not be read just now.'; });
  }

  function showAlbums(albums) {
    heading.textContent = 'Choose an album';
    back.hidden = true; search.hidden = false; more.hidden = true;
    status.textContent = albums.length ? '' : 'No album matches.';
    albums.forEach(function (a) {
      var b = el('button', { type: 'button', class: 'picker-item' });
      if (a.cover) b.append(el('img', { src: a.cover, alt: '', width: '160', height: '90', loading: 'lazy' }));
      b.append(el('span', { class: 'picker-title' }, a.title + (a.draft ? ' (draft)' : '')));
      b.append(el('span', { class: 'hint' }, (a.path ? a.path + ' · ' : '') + a.count));
      b.addEventListener('click', function () { album = a.id; page = 1; load('/admin/photos/pick?album=' + a.id, false); });
      var li = el('li'); li.append(b); list.append(li);
    });
  }

  function showPhotos(data) {
    heading.textContent = data.album;
    back.hidden = false; search.hidden = true;
    status.textContent = '';
    more.hidden = !data.more;
    data.photos.forEach(function (p) {
      var b = el('button', { type: 'button', class: 'picker-item picker-photo', 'data-id': String(p.id) });
      b.append(el('img', { src: p.thumb, alt: p.alt, width: '160', height: '90', loading: 'lazy' }));
      b.append(el('span', { class: 'hint' }, 'Photo ' + p.id));
      b.addEventListener('click', function () { choose(p); });
      var li = el('li'); li.append(b); list.append(li);
    });
  }

  function choose(p) {
    target.value = String(p.id);
    target.dispatchEvent(new Event('change', { bubbles: true }));
    var preview = target.parentNode.querySelector('img[data-photo-preview]');
    if (!preview) {
      preview = el('img', { 'data-photo-preview': '', class: 'featured', width: '160', alt: 'The chosen photo' });
      target.insertAdjacentElement('afterend', preview);
    }
    preview.src = p.thumb;
    dialog.close();
    target.focus();
  }

  var timer = null;
  search.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { load('/admin/photos/pick?q=' + encodeURIComponent(search.value), false); }, 200);
  });
  back.addEventListener('click', function () { album = null; load('/admin/photos/pick?q=' + encodeURIComponent(search.value), false); });
  more.addEventListener('click', function () { page += 1; load('/admin/photos/pick?album=' + album + '&page=' + page, true); });
  close.addEventListener('click', function () { dialog.close(); });

  fields.forEach(function (field) {
    var open = el('button', { type: 'button', class: 'secondary picker-open' }, 'Choose from the gallery');
    field.insertAdjacentElement('afterend', open);
    open.addEventListener('click', function () {
      target = field; album = null; search.value = '';
      dialog.showModal();
      load('/admin/photos/pick', false);
      search.focus();
    });
  });
})();
