/*
 * Tether Connect, for a team's own pages: `Tether.connect(url)` opens a connect session's URL in a popup and
 * resolves with `{instanceId, element, endUserId}` once the end user has connected an account, or rejects with an
 * Error whose `reason` is `closed`, `declined`, `refused`, `expired`, `unavailable` or `blocked`.
 *
 * The same file runs on Tether's hosted connect page: there it tells the page that opened the popup the outcome,
 * by postMessage to that page's origin, which Tether names on the page only when it is one the team allows.
 * No dependencies; works in any browser that has Promise and URL.
 */
(function () {
  'use strict';

  var MESSAGE_TYPE = 'tether.connect';

  function connectError(reason, message) {
    var error = new Error(message || reason);
    error.reason = reason;
    return error;
  }

  function connect(url) {
    return new Promise(function (resolve, reject) {
      var target = new URL(url, window.location.href);
      target.searchParams.set('origin', window.location.origin);
      var popup = window.open(target.toString(), 'tether-connect', 'popup,width=520,height=720');
      if (!popup) {
        reject(connectError('blocked', 'The browser blocked the connect window'));
        return;
      }
      var settled = false;
      var watch = null;

      function settle() {
        settled = true;
        window.removeEventListener('message', onMessage);
        if (watch !== null) window.clearInterval(watch);
      }

      function onMessage(event) {
        var data = event.data;
        if (event.origin !== target.origin || event.source !== popup) return;
        if (!data || data.type !== MESSAGE_TYPE) return;
        settle();
        popup.close();
        if (data.status === 'connected') {
          resolve({ instanceId: Number(data.instanceId), element: data.element, endUserId: data.endUserId });
        } else {
          reject(connectError(data.reason || 'refused', data.message));
        }
      }

      window.addEventListener('message', onMessage);
      // A closed window sends no message; the only way to hear of it is to look.
      watch = window.setInterval(function () {
        if (!settled && popup.closed) {
          settle();
          reject(connectError('closed', 'The connect window was closed before an account was connected'));
        }
      }, 400);
    });
  }

  function tellOpener() {
    var result = document.getElementById('tether-connect-result');
    if (!result || !window.opener) return;
    var origin = result.getAttribute('data-origin');
    if (!origin) return;
    window.opener.postMessage(
      {
        type: MESSAGE_TYPE,
        status: result.getAttribute('data-status'),
        reason: result.getAttribute('data-reason') || undefined,
        message: result.getAttribute('data-message') || undefined,
        instanceId: result.getAttribute('data-instance-id') || undefined,
        element: result.getAttribute('data-element') || undefined,
        endUserId: result.getAttribute('data-end-user-id') || undefined,
      },
      origin
    );
  }

  window.Tether = window.Tether || {};
  window.Tether.connect = connect;
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', tellOpener);
  } else {
    tellOpener();
  }
})();
