// Keepsake's public script: small and optional. Every page works without it; with it, photo
// pages follow ← and → and a swipe to the previous and next photo, and a transcript's time codes
// start the page's own video player there instead of reloading the page.
(function () {
  'use strict';

  // Photo pages: the previous and next links of the album's photo navigation.
  var nav = document.querySelector('.photo-nav');
  if (nav) {
    var go = function (rel) {
      var a = nav.querySelector('a[rel=' + rel + ']');
      if (a) window.location.assign(a.href);
    };
    document.addEventListener('keydown', function (e) {
      if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
      var t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON|VIDEO)$/.test(t.tagName))) return;
      if (e.key === 'ArrowLeft') go('prev');
      else if (e.key === 'ArrowRight') go('next');
    });
    var figure = document.querySelector('.photo figure');
    var start = null;
    if (figure) {
      figure.addEventListener('touchstart', function (e) {
        start = e.touches.length === 1 ? { x: e.touches[0].clientX, y: e.touches[0].clientY } : null;
      }, { passive: true });
      figure.addEventListener('touchend', function (e) {
        if (!start || e.changedTouches.length !== 1) return;
        var dx = e.changedTouches[0].clientX - start.x;
        var dy = e.changedTouches[0].clientY - start.y;
        start = null;
        // A clear sideways swipe only: scrolling and pinching stay the browser's.
        if (Math.abs(dx) > 60 && Math.abs(dy) < Math.abs(dx) / 2) go(dx > 0 ? 'prev' : 'next');
      }, { passive: true });
    }
  }

  // Video pages with the HTML5 player: time codes seek it in place.
  var video = document.querySelector('.player video');
  if (video) {
    document.addEventListener('click', function (e) {
      var a = e.target.closest && e.target.closest('a[data-seconds]');
      if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
      var s = Number(a.getAttribute('data-seconds'));
      if (!isFinite(s)) return;
      e.preventDefault();
      video.currentTime = s;
      video.scrollIntoView({ block: 'nearest' });
      var played = video.play();
      if (played && played.catch) played.catch(function () {});
    });
  }
})();
