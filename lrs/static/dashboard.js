// Filters change the view without a full reload: the form's query is fetched and the
// reports section of the answer replaces this one (the address follows, so it can be
// bookmarked). Without JavaScript the form submits as an ordinary GET and the same
// tables are rendered by the server.
"use strict";
(function () {
  const form = document.querySelector("form.filters");
  if (!form || !document.getElementById("reports") || !window.fetch) return;
  let pending = null;
  async function show(event) {
    if (event) event.preventDefault();
    const query = new URLSearchParams(new FormData(form)).toString();
    const address = form.action.split("?")[0] + "?" + query;
    if (pending) pending.abort();
    pending = new AbortController();
    // Elements are replaced on every change: look the section up each time.
    const reports = document.getElementById("reports");
    reports.setAttribute("aria-busy", "true");
    try {
      const answer = await fetch(address, { signal: pending.signal, credentials: "same-origin" });
      if (answer.redirected || !answer.ok) { window.location.assign(address); return; }
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      const fresh = page.getElementById("reports");
      if (!fresh) { window.location.assign(address); return; }
      reports.replaceWith(fresh);
      const errors = page.getElementById("filter-errors");
      const shown = document.getElementById("filter-errors");
      if (errors && shown) shown.replaceWith(errors);
      history.replaceState(null, "", address);
    } catch (error) {
      if (error.name !== "AbortError") window.location.assign(address);
    }
  }
  form.addEventListener("change", show);
  form.addEventListener("submit", show);
})();
