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
