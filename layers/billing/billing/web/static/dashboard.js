// The dashboard's little behaviour: sign in from the link's #token fragment, and confirmed invoice actions.
(function () {
  "use strict";

  // The token travels in the fragment, which browsers never send to a server or write to its logs;
  // it is taken out of the address bar at once and posted to the dashboard, which keeps it in an HttpOnly cookie.
  function signInFromFragment() {
    var form = document.getElementById("sign-in-form");
    var found = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (!form || !found) return;
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    form.elements.token.value = decodeURIComponent(found[1]);
    document.getElementById("sign-in-progress").hidden = false;
    form.submit();
  }

  function show(box, message, ok) {
    box.textContent = message;
    box.className = "notice " + (ok ? "success" : "error");
    box.hidden = false;
    box.focus();
  }

  function messageOf(body, status) {
    return body.detail || body.message || body.title || "The request failed (HTTP " + status + ").";
  }

  // Each button asks first, then posts to the dashboard, which calls the billing API with the session's token.
  function invoiceActions() {
    var box = document.getElementById("action-result");
    var buttons = document.querySelectorAll("button[data-action-url]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        if (!window.confirm(button.getAttribute("data-confirm"))) return;
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
        fetch(button.getAttribute("data-action-url"), {
          method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" }
        }).then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            if (response.ok) {
              var name = button.getAttribute("data-action-name");
              window.location.assign(window.location.pathname + "?done=" + encodeURIComponent(name));
              return;
            }
            show(box, messageOf(body, response.status), false);
            button.disabled = false;
            button.removeAttribute("aria-busy");
          });
        }).catch(function () {
          show(box, "The dashboard could not be reached. Check your connection and try again.", false);
          button.disabled = false;
          button.removeAttribute("aria-busy");
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    signInFromFragment();
    invoiceActions();
  });
  window.addEventListener("hashchange", signInFromFragment);  // the link opened over the sign-in page
})();
