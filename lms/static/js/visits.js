/* Mentor visits on a phone: a lost signal loses nothing.
 *
 * - While typing, the form is kept as a draft in localStorage (per form and outlet).
 * - Each new visit carries a client_key made on the phone; the server treats a repeated
 *   key as the same visit, so sending twice is harmless.
 * - On submit the form is sent with fetch (Accept: application/json). When the network
 *   fails the visit, photos included, goes to an outbox in IndexedDB and is sent again on
 *   the `online` event, on page load and every 30 s, with a fresh CSRF token each time.
 *   An entry leaves the outbox only after a 2xx or 409 answer.
 * - Without JavaScript the form posts normally.
 * No inline script anywhere (CSP script-src 'self'); texts come from #visits-js data-msg-*.
 */
(function () {
  "use strict";

  var config = document.getElementById("visits-js");
  if (!config) { return; }
  var MSG = {};
  Object.keys(config.dataset).forEach(function (k) {
    if (k.indexOf("msg") === 0) { MSG[k.charAt(3).toLowerCase() + k.slice(4)] = config.dataset[k]; }
  });
  var CSRF_URL = config.dataset.csrfUrl;
  var DRAFT_PREFIX = "lms.visitDraft:";
  var LS_OUTBOX = "lms.visitOutbox";
  var DB_NAME = "lms-visits";
  var STORE = "outbox";
  var SKIP_IN_DRAFT = { csrf_token: 1, photos: 1, latitude: 1, longitude: 1, accuracy: 1, share_location: 1,
                        remove_photo_ids: 1 };

  // --- small helpers ----------------------------------------------------------------------

  function randomKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      try { return window.crypto.randomUUID(); } catch (e) { /* not a secure context */ }
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function nowWibLocal() {
    // WIB wall-clock time for <input type=datetime-local>, whatever the phone's own time zone
    return new Date(Date.now() + 7 * 3600 * 1000).toISOString().slice(0, 16);
  }

  function isJson(resp) {
    return (resp.headers.get("Content-Type") || "").indexOf("application/json") === 0;
  }

  // --- the outbox: IndexedDB (photos as Blobs), localStorage when IndexedDB is missing -----

  function req(r) {
    return new Promise(function (resolve, reject) {
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }

  function openDb() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no indexedDB")); return; }
      var r = window.indexedDB.open(DB_NAME, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, { keyPath: "key" }); };
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }

  function lsAll() {
    try { return JSON.parse(window.localStorage.getItem(LS_OUTBOX) || "[]"); } catch (e) { return []; }
  }

  function lsWrite(list) { window.localStorage.setItem(LS_OUTBOX, JSON.stringify(list)); }

  var outbox = {
    all: function () {
      return openDb().then(function (db) {
        return req(db.transaction(STORE).objectStore(STORE).getAll()).then(function (rows) {
          db.close();
          return rows.concat(lsAll());
        });
      }, function () { return lsAll(); });
    },
    put: function (entry) {
      return openDb().then(function (db) {
        return new Promise(function (resolve, reject) {
          var t = db.transaction(STORE, "readwrite");
          t.objectStore(STORE).put(entry);
          t.oncomplete = function () { db.close(); resolve(true); };
          t.onerror = t.onabort = function () { db.close(); reject(t.error); };
        });
      }).catch(function () {
        // no IndexedDB (or it refused the photos): keep the text, say the photos stay behind
        var list = lsAll().filter(function (e) { return e.key !== entry.key; });
        var lite = Object.assign({}, entry, { files: [], photosDropped: (entry.files || []).length > 0 });
        list.push(lite);
        lsWrite(list);
        return !lite.photosDropped;
      });
    },
    remove: function (key) {
      lsWrite(lsAll().filter(function (e) { return e.key !== key; }));
      return openDb().then(function (db) {
        return new Promise(function (resolve) {
          var t = db.transaction(STORE, "readwrite");
          t.objectStore(STORE).delete(key);
          t.oncomplete = t.onerror = t.onabort = function () { db.close(); resolve(); };
        });
      }, function () { return undefined; });
    }
  };

  // --- sending ------------------------------------------------------------------------------

  function entryFromForm(form) {
    var fields = [];
    var files = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") { fields.push([name, value]); }
      else if (value && value.name) { files.push({ name: name, file: value }); }
    });
    var key = (form.elements.client_key && form.elements.client_key.value) || randomKey();
    var outlet = form.elements.outlet_id;
    var label = outlet && outlet.selectedIndex >= 0 ? outlet.options[outlet.selectedIndex].text : "";
    var when = form.elements.visited_at ? form.elements.visited_at.value.replace("T", " ") : "";
    return { key: key, url: form.action, fields: fields, files: files, label: (label + " · " + when).trim(),
             created: Date.now(), status: "pending", error: "" };
  }

  function post(entry, token) {
    var body = new FormData();
    entry.fields.forEach(function (kv) { if (kv[0] !== "csrf_token") { body.append(kv[0], kv[1]); } });
    if (token) { body.append("csrf_token", token); }
    (entry.files || []).forEach(function (f) { body.append(f.name, f.file, f.file.name || "foto.jpg"); });
    return fetch(entry.url, { method: "POST", body: body, credentials: "same-origin",
                              headers: { "Accept": "application/json" } });
  }

  function freshToken() {
    return fetch(CSRF_URL, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (resp) {
        if (!resp.ok || !isJson(resp)) { var e = new Error("signin"); e.signin = true; throw e; }
        return resp.json();
      })
      .then(function (data) { return data.csrf_token; });
  }

  /* sent: stored (2xx with an id, or 409); rejected: the server refused the content (fix it);
     retry: anything else (CSRF token, server trouble, signed out) */
  function outcome(resp) {
    var parse = isJson(resp) ? resp.json().catch(function () { return null; }) : Promise.resolve(null);
    return parse.then(function (body) {
      if (resp.status === 409 || (resp.ok && body && body.id)) { return { kind: "sent", body: body }; }
      if (resp.status === 422 || resp.status === 404 || resp.status === 403) {
        return { kind: "rejected", body: body, status: resp.status };
      }
      return { kind: "retry", body: body, status: resp.status, signin: resp.ok && !body };
    });
  }

  function describe(result) {
    var errors = (result.body && result.body.errors) || {};
    var parts = [];
    Object.keys(errors).forEach(function (k) { parts = parts.concat(errors[k]); });
    return parts.join(" ") || (result.body && result.body.description) || (MSG.rejected + " (" + result.status + ")");
  }

  // --- the outbox panel ----------------------------------------------------------------------

  var flushing = false;

  function renderOutbox() {
    var panel = document.querySelector("[data-outbox]");
    if (!panel) { return Promise.resolve(); }
    return outbox.all().then(function (entries) {
      var list = panel.querySelector("[data-outbox-list]");
      list.textContent = "";
      entries.sort(function (a, b) { return a.created - b.created; });
      entries.forEach(function (e) {
        var li = document.createElement("li");
        li.className = "outbox-item outbox-" + e.status;
        li.dataset.key = e.key;
        var text = document.createElement("span");
        text.textContent = (e.label || e.key) + " — " + (e.status === "rejected" ? MSG.rejected + ": " + e.error : MSG.pending);
        li.appendChild(text);
        if (e.photosDropped) {
          var note = document.createElement("span");
          note.className = "hint";
          note.textContent = " " + MSG.noPhotos;
          li.appendChild(note);
        }
        if (e.status === "rejected") {
          var open = document.createElement("a");
          open.className = "btn btn-small";
          open.href = e.url + (e.url.indexOf("?") < 0 ? "?" : "&") + "outbox=" + encodeURIComponent(e.key);
          open.textContent = MSG.open;
          li.appendChild(open);
          var del = document.createElement("button");
          del.type = "button";
          del.className = "btn btn-small btn-danger";
          del.textContent = MSG.delete;
          del.addEventListener("click", function () {
            if (window.confirm(MSG.confirmDelete)) { outbox.remove(e.key).then(renderOutbox); }
          });
          li.appendChild(del);
        }
        list.appendChild(li);
      });
      panel.hidden = entries.length === 0;
    });
  }

  function flush() {
    if (flushing) { return Promise.resolve(); }
    flushing = true;
    var sent = 0;
    return outbox.all().then(function (entries) {
      var pending = entries.filter(function (e) { return e.status !== "rejected"; });
      if (!pending.length) { return null; }
      return freshToken().then(function (token) {
        var chain = Promise.resolve(true);
        pending.forEach(function (entry) {
          chain = chain.then(function (go) {
            if (!go) { return false; }
            return post(entry, token).then(outcome).then(function (result) {
              if (result.kind === "sent") { sent += 1; return outbox.remove(entry.key).then(function () { return true; }); }
              if (result.kind === "rejected") {
                entry.status = "rejected";
                entry.error = describe(result);
                return outbox.put(entry).then(function () { return true; });
              }
              if (result.status === 400) {
                // usually a stale token: take a new one and try later; three refusals in a row are a real one
                entry.refusals = (entry.refusals || 0) + 1;
                if (entry.refusals >= 3) {
                  entry.status = "rejected";
                  entry.error = describe(result);
                }
                return outbox.put(entry).then(function () {
                  return freshToken().then(function (t) { token = t; return false; }, function () { return false; });
                });
              }
              if (result.signin) { status(MSG.signin, "warn"); }
              return false;
            }, function () { return false; });  // still no signal
          });
        });
        return chain;
      }, function (err) { if (err && err.signin && navigator.onLine) { status(MSG.signin, "warn"); } });
    }).catch(function () { return null; }).then(function () {
      flushing = false;
      if (sent) { status(MSG.sent, "success"); }
      return renderOutbox();
    });
  }

  // --- status line ---------------------------------------------------------------------------

  function status(text, kind) {
    var box = document.querySelector("[data-visit-status]");
    if (!box) {
      var panel = document.querySelector("[data-outbox]");
      if (!panel) { return; }
      box = document.createElement("p");
      box.setAttribute("data-visit-status", "");
      box.setAttribute("role", "status");
      panel.parentNode.insertBefore(box, panel);
    }
    box.className = "alert " + ({ success: "flash-success", warn: "alert-warn", error: "alert-error" }[kind] || "alert-info");
    box.textContent = text;
    box.hidden = false;
  }

  // --- the visit form --------------------------------------------------------------------------

  function setupForm(form) {
    var outletSel = form.elements.outlet_id;
    var keyInput = form.elements.client_key;
    var queueing = form.dataset.queue === "1";
    var draftKey = currentDraftKey();
    var saveTimer = null;

    function currentDraftKey() {
      return DRAFT_PREFIX + form.dataset.draft + (outletSel ? ":" + outletSel.value : "");
    }

    function collect() {
      var out = [];
      new FormData(form).forEach(function (value, name) {
        if (typeof value === "string" && !SKIP_IN_DRAFT[name]) { out.push([name, value]); }
      });
      return out;
    }

    function saveDraft() {
      try {
        window.localStorage.setItem(draftKey, JSON.stringify({ saved: Date.now(), fields: collect() }));
      } catch (e) { /* storage full or disabled: the outbox still works */ }
    }

    function clearDraft() {
      clearTimeout(saveTimer);
      window.localStorage.removeItem(draftKey);
    }

    function rows() { return form.querySelectorAll("[data-action-row]"); }

    function addRow() {
      var all = rows();
      if (all.length >= 10) { return null; }
      var last = all[all.length - 1];
      var copy = last.cloneNode(true);
      var n = all.length;
      copy.querySelectorAll("[name],[id],[for],[aria-describedby]").forEach(function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          var v = el.getAttribute(attr);
          if (v) { el.setAttribute(attr, v.replace(/action_items-\d+-/g, "action_items-" + n + "-")); }
        });
        if (el.tagName === "INPUT" || el.tagName === "TEXTAREA") { el.value = ""; }
        el.removeAttribute("aria-invalid");
      });
      copy.querySelectorAll(".errors").forEach(function (el) { el.remove(); });
      copy.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
      last.parentNode.appendChild(copy);
      return copy;
    }

    function fill(fields) {
      var byName = {};
      fields.forEach(function (kv) { (byName[kv[0]] = byName[kv[0]] || []).push(kv[1]); });
      Object.keys(byName).forEach(function (name) {
        var m = /^action_items-(\d+)-/.exec(name);
        if (m) { while (rows().length <= Number(m[1]) && addRow()) { /* grow */ } }
      });
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || SKIP_IN_DRAFT[el.name] || el.type === "file" || el.type === "submit") { return; }
        var values = byName[el.name];
        if (el.type === "checkbox" || el.type === "radio") {
          el.checked = !!values && values.indexOf(el.value) >= 0;
        } else if (values) {
          el.value = values[0];
        }
      });
    }

    function newKey() { if (keyInput) { keyInput.value = randomKey(); } }

    function clearErrors() {
      form.querySelectorAll(".js-errors").forEach(function (el) { el.remove(); });
      form.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
      var server = document.querySelector("[data-server-errors]");
      if (server) { server.remove(); }
    }

    function showErrors(errors) {
      clearErrors();
      var first = null;
      Object.keys(errors || {}).forEach(function (name) {
        var el = name ? form.elements[name] : null;
        var node = el && (el.length !== undefined && !el.tagName ? el[0] : el);
        var box = node ? (node.closest("fieldset[data-field]") || node.closest(".field") || node.parentNode) : null;
        var ul = document.createElement("ul");
        ul.className = "errors js-errors";
        errors[name].forEach(function (msg) { var li = document.createElement("li"); li.textContent = msg; ul.appendChild(li); });
        if (box) { box.classList.add("has-error"); box.appendChild(ul); first = first || node; }
        else { form.insertBefore(ul, form.firstChild); }
      });
      status(MSG.errors, "error");
      if (first && first.focus) { first.focus(); }
    }

    function resetForNext() {
      clearDraft();
      form.reset();  // back to what the server rendered (an edit form: the stored visit)
      if (queueing) {  // a new-visit form: ready for the next visit
        rows().forEach(function (row, i) { if (i >= 2) { row.remove(); } });
        if (form.elements.visited_at) { form.elements.visited_at.value = nowWibLocal(); }
        newKey();
        locationOff();
      }
      draftKey = currentDraftKey();
    }

    // location: stored only when the mentor ticks "share my location"
    var share = form.elements.share_location;
    var locStatus = form.querySelector("[data-location-status]");
    function locationOff() {
      ["latitude", "longitude", "accuracy"].forEach(function (n) { if (form.elements[n]) { form.elements[n].value = ""; } });
    }
    if (share) {
      if (!navigator.geolocation) {
        form.querySelector("[data-location]").hidden = true;
      } else {
        share.addEventListener("change", function () {
          if (!share.checked) { locationOff(); return; }
          if (locStatus) { locStatus.textContent = MSG.locWait; }
          navigator.geolocation.getCurrentPosition(function (pos) {
            if (!share.checked) { return; }
            form.elements.latitude.value = pos.coords.latitude.toFixed(6);
            form.elements.longitude.value = pos.coords.longitude.toFixed(6);
            form.elements.accuracy.value = Math.round(pos.coords.accuracy || 0);
            if (locStatus) { locStatus.textContent = MSG.locOk.replace("{m}", Math.round(pos.coords.accuracy || 0)); }
          }, function () {
            share.checked = false;
            locationOff();
            if (locStatus) { locStatus.textContent = MSG.locFail; }
          }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
        });
      }
    }

    // more action-item rows
    var addBtn = form.querySelector("[data-add-action]");
    if (addBtn) {
      addBtn.hidden = false;
      addBtn.addEventListener("click", function () {
        var row = addRow();
        if (row) { var first = row.querySelector("input[type=text], input:not([type])"); if (first) { first.focus(); } }
      });
    }

    // drafts
    form.addEventListener("input", function () { clearTimeout(saveTimer); saveTimer = setTimeout(saveDraft, 400); });
    form.addEventListener("change", function (ev) {
      if (outletSel && ev.target === outletSel) {
        window.localStorage.removeItem(draftKey);
        draftKey = currentDraftKey();
      }
      saveDraft();
    });

    var params = new URLSearchParams(window.location.search);
    var fromOutbox = params.get("outbox");
    if (fromOutbox) {
      outbox.all().then(function (entries) {
        var entry = entries.filter(function (e) { return e.key === fromOutbox; })[0];
        if (!entry) { return; }
        fill(entry.fields);
        if (keyInput) { keyInput.value = entry.key; }
        var photos = form.elements.photos;
        if (photos && entry.files && entry.files.length && window.DataTransfer) {
          try {
            var dt = new DataTransfer();
            entry.files.forEach(function (f) { dt.items.add(new File([f.file], f.file.name || "foto.jpg", { type: f.file.type })); });
            photos.files = dt.files;
          } catch (e) { /* the browser cannot set files: the mentor picks them again */ }
        }
        if (entry.status === "rejected") { status(entry.error, "error"); }
        draftKey = currentDraftKey();
      });
    } else if (form.dataset.fresh === "1") {
      var raw = window.localStorage.getItem(draftKey);
      var draft = null;
      try { draft = raw ? JSON.parse(raw) : null; } catch (e) { draft = null; }
      if (draft && draft.fields && draft.fields.length) {
        fill(draft.fields);
        var note = form.querySelector("[data-draft-note]");
        if (note) {
          note.textContent = MSG.draft + " ";
          var discard = document.createElement("button");
          discard.type = "button";
          discard.className = "link";
          discard.textContent = MSG.discard;
          discard.addEventListener("click", function () { resetForNext(); note.hidden = true; });
          note.appendChild(discard);
          note.hidden = false;
        }
        if (keyInput && !keyInput.value) { newKey(); }
      } else if (keyInput) {
        newKey();  // made on the phone
      }
    }

    var busy = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (busy) { return; }
      busy = true;
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      status(MSG.sending, "info");
      if (keyInput && !keyInput.value) { newKey(); }
      var entry = entryFromForm(form);
      var token = form.elements.csrf_token ? form.elements.csrf_token.value : "";

      function queue() {
        if (!queueing) { status(MSG.error, "error"); return Promise.resolve(); }
        return outbox.put(entry).then(function (withPhotos) {
          status(MSG.queued + (withPhotos === false ? " " + MSG.noPhotos : ""), "warn");
          resetForNext();
          return renderOutbox();
        });
      }

      function handle(result, retried) {
        if (result.kind === "sent") {
          clearDraft();
          return outbox.remove(entry.key).then(function () {
            var url = (result.body && result.body.url) || window.location.href;
            var flag = result.body && result.body.status === "updated" ? "diubah=1" : "baru=1";
            window.location.assign(url + (url.indexOf("?") < 0 ? "?" : "&") + flag);
          });
        }
        if (result.kind === "rejected") {
          if (result.status === 422) { showErrors((result.body && result.body.errors) || {}); }
          else { status(describe(result), "error"); }
          return null;
        }
        if (result.status === 400 && !retried) {  // stale CSRF token: take a fresh one and send again
          return freshToken().then(function (t) {
            return post(entry, t).then(outcome).then(function (r) { return handle(r, true); });
          }, queue);
        }
        if (result.signin) { status(MSG.signin, "warn"); }
        return queue();
      }

      post(entry, token).then(outcome).then(function (r) { return handle(r, false); }, queue)
        .catch(function () { status(MSG.error, "error"); })
        .then(function () { busy = false; if (button) { button.disabled = false; } });
    });
  }

  // --- start ------------------------------------------------------------------------------------

  function start() {
    document.querySelectorAll("form[data-visit-form]").forEach(setupForm);
    var retry = document.querySelector("[data-outbox-retry]");
    if (retry) { retry.addEventListener("click", flush); }
    window.addEventListener("online", flush);
    window.setInterval(function () { if (navigator.onLine) { flush(); } }, 30000);
    renderOutbox().then(flush);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
}());
