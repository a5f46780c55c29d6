/* shopprivacy cookie consent: no dependencies, no inline code. Config from data-sp-config, or fetched from
   {data-sp-base}/consent/config when the banner is embedded with a script tag only (on any origin). */
(function () {
  "use strict";
  var d = document, w = window, me = d.currentScript;
  if (!me || w.shopprivacyConsent) return;
  var wantsOpen = false;  // until the config has loaded: nothing optional is allowed, open() waits
  w.shopprivacyConsent = { open: function () { wantsOpen = true; }, allows: function (c) { return c === "necessary"; },
    granted: function () { return []; } };
  var nonce = me.nonce || "", inline = me.getAttribute("data-sp-config");
  var BASE = (me.getAttribute("data-sp-base") || me.src.replace(/\/consent\/consent\.js(\?.*)?$/, "")).replace(/\/+$/, "");
  var GPC = navigator.globalPrivacyControl === true, GPC_CATS = ["marketing", "sale_of_data"];
  var REGION = (me.getAttribute("data-sp-region") || "").toUpperCase();  // the visitor's, when the page knows it
  // refused for this signed-in customer by their rights request (e.g. an opt-out of sale), whatever the cookie
  var DENIED = (me.getAttribute("data-sp-denied") || "").split(" ");
  var SIGNALS = ["ad_storage", "analytics_storage", "ad_user_data", "ad_personalization",
    "functionality_storage", "personalization_storage"];
  var C = null, T = null, state = null, root = null, opener = null;

  w.dataLayer = w.dataLayer || [];
  if (typeof w.gtag !== "function") w.gtag = function () { w.dataLayer.push(arguments); };
  function consentDefault(regions) {
    var def = { security_storage: "granted", wait_for_update: 500 };
    SIGNALS.forEach(function (s) { def[s] = "denied"; });
    if (regions && regions.length) def.region = regions;
    w.gtag("consent", "default", def);
  }
  // config inline: its regions apply; fetched: denied everywhere until the visitor's choice is known
  if (inline) consentDefault(JSON.parse(inline).regions); else consentDefault(null);

  function endpointOf(cfg) { return me.hasAttribute("data-sp-base") ? BASE + "/consent" : cfg.endpoint; }
  function sameOrigin(url) { return new URL(url, location.href).origin === location.origin; }

  function has(list, x) { return list.indexOf(x) >= 0; }
  function b64(s) { s = s.replace(/-/g, "+").replace(/_/g, "/"); while (s.length % 4) s += "="; return atob(s); }
  function read() {
    var raw = rawCookie();
    if (!raw) return null;
    try {
      var p = JSON.parse(decodeURIComponent(escape(b64(decodeURIComponent(raw).split(".")[0]))));
      return p.v === C.version && p.g instanceof Array ? { g: p.g, o: !!p.o } : null;
    } catch (e) { return null; }
  }
  function effective(s) {
    return s.g.filter(function (c) { return !(GPC && !s.o && has(GPC_CATS, c)) && !has(DENIED, c); });
  }
  function allows(cat) { return cat === "necessary" || (!!state && has(effective(state), cat)); }

  function consentMode(g) {
    var upd = {}, k;
    SIGNALS.forEach(function (s) { upd[s] = "denied"; });
    for (k in C.gcm) if (has(g, k)) C.gcm[k].forEach(function (s) { upd[s] = "granted"; });
    // sale_of_data narrows marketing's signals only where US-style opt-out laws apply (saleRegions)
    var narrow = (C.saleRegions || []).some(function (r) {
      return r === "*" || (REGION && (REGION === r || REGION.indexOf(r + "-") === 0));
    });
    if (narrow && !has(g, "sale_of_data") && C.gcm.marketing) C.gcm.marketing.forEach(function (s) { upd[s] = "denied"; });
    w.gtag("consent", "update", upd);
  }
  function gate() {
    var els = d.querySelectorAll("script[type='text/plain'][data-consent],iframe[data-consent][data-src]");
    Array.prototype.forEach.call(els, function (el) {
      if (el.tagName === "IFRAME") { embed(el); return; }
      if (el.hasAttribute("data-sp-done") || !allows(el.getAttribute("data-consent"))) return;
      el.setAttribute("data-sp-done", "");
      var s = d.createElement("script"), src = el.getAttribute("data-src") || el.getAttribute("src");
      Array.prototype.forEach.call(el.attributes, function (a) {
        if (!/^(type|src|data-src|data-consent|data-sp-done|nonce)$/.test(a.name)) s.setAttribute(a.name, a.value);
      });
      s.type = el.getAttribute("data-type") || "text/javascript";
      if (el.nonce || nonce) s.nonce = el.nonce || nonce;
      if (src) { s.src = src; s.async = false; } else s.text = el.text;
      el.parentNode.insertBefore(s, el.nextSibling);
    });
  }
  // an embed (video, map) loads once its category is granted; until then a click-to-load placeholder takes its
  // place, and a withdrawal unloads it and puts the placeholder back
  function embed(f) {
    var cat = f.getAttribute("data-consent"), ph = f.previousElementSibling;
    if (!ph || !ph.classList.contains("sp-cc-embed")) ph = null;
    if (allows(cat)) {
      if (ph) ph.remove();
      f.hidden = false;
      if (!f.hasAttribute("data-sp-done")) { f.setAttribute("data-sp-done", ""); f.src = f.getAttribute("data-src"); }
      return;
    }
    if (f.hasAttribute("data-sp-done")) { f.removeAttribute("data-sp-done"); f.src = "about:blank"; }
    f.hidden = true;
    if (ph) return;
    var c = C.categories.filter(function (x) { return x.id === cat; })[0], name = c ? c.name : cat, who;
    try { who = f.getAttribute("data-sp-provider") || new URL(f.getAttribute("data-src"), location.href).hostname; }
    catch (e) { who = "?"; }
    ph = el("div", { "class": "sp-cc-embed", role: "group", lang: C.lang, dir: C.dir });
    ph.appendChild(el("p", {}, T.embed.replace("{provider}", who).replace("{category}", name)));
    if (c) ph.appendChild(button(T.embed_load.replace("{category}", name), "sp-cc-embed-load", function () {
      var g = state ? effective(state).slice() : [];
      if (!has(g, cat)) g.push(cat);
      save(g, "custom", GPC && has(GPC_CATS, cat));
      if (root) close(false);
    }));
    if (f.width) ph.style.width = /^\d+$/.test(f.width) ? f.width + "px" : f.width;
    if (f.height) ph.style.minHeight = /^\d+$/.test(f.height) ? f.height + "px" : f.height;
    f.parentNode.insertBefore(ph, f);
  }
  function dropCookies(g) {
    var host = location.hostname, names = d.cookie.split("; ").map(function (c) { return c.split("=")[0]; });
    C.cookies.forEach(function (decl) {
      if (has(g, decl.c)) return;
      names.forEach(function (n) {
        var pre = decl.n.slice(-1) === "*";
        if (pre ? n.indexOf(decl.n.slice(0, -1)) !== 0 : n !== decl.n) return;
        var doms = ["", host, "." + host].concat(decl.d ? [decl.d] : []);
        doms.forEach(function (dm) {
          d.cookie = n + "=; Max-Age=0; Path=/" + (dm ? "; Domain=" + dm : "");
        });
      });
    });
  }
  // Shopify's Customer Privacy API: its pixels and apps follow the same choice. Its current state is read
  // first ("yes" / "no" / "" per category) and set only where it differs from the visitor's choice.
  var SHOPIFY_CATS = ["analytics", "marketing", "preferences", "sale_of_data"], shopifyAsked = false;
  function shopify(g) {
    var sp = w.Shopify && w.Shopify.customerPrivacy, want = {}, now = null;
    if (!sp || typeof sp.setTrackingConsent !== "function") return;
    try { now = typeof sp.currentVisitorConsent === "function" ? sp.currentVisitorConsent() : null; } catch (e) {}
    var same = !!now && SHOPIFY_CATS.every(function (c) { return now[c] === (has(g, c) ? "yes" : "no"); });
    SHOPIFY_CATS.forEach(function (c) { want[c] = has(g, c); });
    if (!same) sp.setTrackingConsent(want, function () {});
  }
  function shopifyLoad() {
    var s = w.Shopify;
    if (shopifyAsked || !s || s.customerPrivacy || typeof s.loadFeatures !== "function") return;
    shopifyAsked = true;
    s.loadFeatures([{ name: "consent-tracking-api", version: "0.1" }], function (err) {
      if (!err && state) shopify(effective(state));
    });
  }
  function bridges(g) {
    shopify(g);
    if (typeof w.wp_set_consent === "function") {
      w.wp_consent_type = w.wp_consent_type || "optin";
      var map = { preferences: ["preferences"], analytics: ["statistics", "statistics-anonymous"],
        marketing: ["marketing"] }, k;
      w.wp_set_consent("functional", "allow");
      for (k in map) map[k].forEach(function (c) { w.wp_set_consent(c, has(g, k) ? "allow" : "deny"); });
    }
  }
  function apply() {
    var g = effective(state);
    consentMode(g); gate(); dropCookies(g); bridges(g);
    d.dispatchEvent(new CustomEvent("shopprivacy:consent", { detail: { granted: g.slice(), gpc: GPC } }));
  }
  function rawCookie() {
    var m = d.cookie.match(new RegExp("(?:^|; )" + C.cookie + "=([^;]*)"));
    return m ? m[1] : null;
  }
  // the backend's signed value, kept as a first-party cookie of this page's origin (a backend on another
  // origin, or behind a proxy that drops Set-Cookie, cannot set it here)
  function keep(c) {
    if (!c || c.name !== C.cookie || !/^[A-Za-z0-9_.\-]{1,4096}$/.test(c.value) || !(c.max_age > 0)) return;
    d.cookie = c.name + "=" + c.value + "; Path=/; Max-Age=" + Math.floor(c.max_age) + "; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  function save(g, method, override) {
    state = { g: g, o: override };
    apply();
    var data = { granted: g, method: method, version: C.version, gpc: GPC, override: override, locale: C.lang,
      page: location.origin + location.pathname }, prior = rawCookie(), url = endpointOf(C);
    if (prior) data.cookie = prior;
    return fetch(url, { method: "POST", credentials: sameOrigin(url) ? "same-origin" : "omit",
      body: JSON.stringify(data), headers: { "Content-Type": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (res) { if (res) keep(res.cookie); return res; })
      .catch(function () { return null; });
  }
  // a "do not sell or share" form: the opt-out keeps the visitor's other choices; the page's form is posted as
  // is (recording a rejection of everything optional) only when the choice could not be recorded
  function doNotSell(f) {
    var g = (state ? effective(state) : []).filter(function (c) { return !has(GPC_CATS, c); });
    save(g, revokes(g) ? "withdraw" : "custom", false).then(function (res) {
      if (!res) { f.submit(); return; }
      var note = el("p", { role: "status", "class": "sp-cc-done" }, f.getAttribute("data-sp-done") || "");
      f.parentNode.replaceChild(note, f);
    });
    close(false);
  }

  function el(tag, attrs, text) {
    var e = d.createElement(tag), k;
    for (k in attrs) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }
  function button(label, cls, fn) {
    var b = el("button", { type: "button", "class": "sp-cc-btn " + cls }, label);
    b.addEventListener("click", fn);
    return b;
  }
  function close(focusOpener) {
    if (root) { root.remove(); root = null; }
    showOpener();
    if (focusOpener && opener) opener.focus();
  }
  function choose(g, method, override) { save(g, method, override); close(true); }
  function all() { return C.categories.filter(function (c) { return c.id !== "necessary"; }).map(function (c) { return c.id; }); }
  // a choice that switches off something the visitor had on is a withdrawal (GDPR Art. 7(3))
  function revokes(g) { return !!state && effective(state).some(function (c) { return !has(g, c); }); }
  function acceptAll() {
    var keep = !GPC || (!!state && state.o);  // under GPC only an explicit earlier override keeps them on
    choose(keep ? all() : all().filter(function (c) { return !has(GPC_CATS, c); }), "accept_all", GPC && keep);
  }
  function rejectAll() { choose([], revokes([]) ? "withdraw" : "reject_all", false); }

  function show(detail) {
    if (root) root.remove();
    if (opener) opener.hidden = true;
    root = el("section", { "class": "sp-cc", role: "region", "aria-labelledby": "sp-cc-title", lang: C.lang, dir: C.dir });
    root.appendChild(el("h2", { id: "sp-cc-title" }, T.title));
    root.appendChild(el("p", {}, T.text));
    if (GPC) root.appendChild(el("p", { "class": "sp-cc-gpc", role: "note" }, T.gpc));
    if (C.policyUrl) root.appendChild(el("a", { href: C.policyUrl, "class": "sp-cc-link" }, T.policy));
    var row = el("div", { "class": "sp-cc-row" });
    if (detail) {
      var fs = el("fieldset", { "class": "sp-cc-cats" }), current = state ? effective(state) : [];
      fs.appendChild(el("legend", {}, T.customize));
      C.categories.forEach(function (c) {
        var id = "sp-cc-" + c.id, wrap = el("div", { "class": "sp-cc-cat" });
        var box = el("input", { type: "checkbox", id: id, role: "switch", "data-cat": c.id, "aria-describedby": id + "-d" });
        if (c.id === "necessary") { box.checked = true; box.disabled = true; } else box.checked = has(current, c.id);
        var label = el("label", { "for": id }, c.name + (c.id === "necessary" ? " (" + T.always + ")" : ""));
        wrap.appendChild(box); wrap.appendChild(label); wrap.appendChild(el("p", { id: id + "-d" }, c.desc));
        fs.appendChild(wrap);
      });
      root.appendChild(fs);
      row.appendChild(button(T.save, "sp-cc-save", function () {
        var g = [], boxes = root.querySelectorAll("input[data-cat]:not([disabled])");
        Array.prototype.forEach.call(boxes, function (b) { if (b.checked) g.push(b.getAttribute("data-cat")); });
        choose(g, revokes(g) ? "withdraw" : "custom", GPC && g.some(function (c) { return has(GPC_CATS, c); }));
      }));
    }
    row.appendChild(button(T.accept, "sp-cc-accept", acceptAll));
    row.appendChild(button(T.reject, "sp-cc-reject", rejectAll));
    if (!detail) row.appendChild(button(T.customize, "sp-cc-customize", function () { show(true); }));
    root.appendChild(row);
    d.body.appendChild(root);
    // focus the banner itself, not a button: no choice is preselected (Enter accepts nothing), Tab reaches all
    root.setAttribute("tabindex", "-1");
    root.focus();
  }
  function showOpener() {
    if (!opener) {
      opener = button(T.settings, "sp-cc-open", function () { show(true); });
      opener.setAttribute("aria-label", T.settings);
      d.body.appendChild(opener);
    }
    opener.hidden = false;
  }

  function init(cfg) {
    C = cfg; T = C.t;
    state = read();
    // GPC over an earlier grant of marketing / sale of data: process the opt-out and keep proof of it once
    // (the new cookie no longer holds those grants, so later page views send nothing)
    if (state && GPC && !state.o && state.g.some(function (c) { return has(GPC_CATS, c); })) {
      save(state.g.filter(function (c) { return !has(GPC_CATS, c); }), "gpc", false);
    } else if (state) apply();
    w.shopprivacyConsent = { open: function () { show(true); }, allows: allows,
      granted: function () { return state ? effective(state) : []; } };
    shopifyLoad();
    function start() {
      shopifyLoad();  // Shopify's own scripts may come after the banner's
      d.addEventListener("click", function (e) {
        var t = e.target.closest && e.target.closest("[data-sp-consent-open]");
        if (t) { e.preventDefault(); show(true); }
      });
      d.addEventListener("submit", function (e) {
        var f = e.target;
        if (f && f.hasAttribute && f.hasAttribute("data-sp-do-not-sell")) { e.preventDefault(); doNotSell(f); }
      });
      gate();
      if (state) showOpener(); else show(false);
      if (wantsOpen) show(true);
      if (w.MutationObserver) new MutationObserver(function () { gate(); })
        .observe(d.documentElement, { childList: true, subtree: true });
    }
    if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", start); else start();
  }

  if (inline) { init(JSON.parse(inline)); return; }
  var ver = /[?&]v=([0-9a-f]+)/.exec(me.src || ""), css = BASE + "/consent/consent.css" + (ver ? "?v=" + ver[1] : "");
  var loaded = Array.prototype.some.call(d.querySelectorAll("link[rel=stylesheet]"),
    function (l) { return l.href === new URL(css, location.href).href; });
  if (!loaded) {
    var link = d.createElement("link");
    link.rel = "stylesheet"; link.href = css;
    if (nonce) link.nonce = nonce;
    d.head.appendChild(link);
  }
  // the page's language, else the browser's (best first); the server picks the file (i18n.negotiate)
  var lang = me.getAttribute("data-sp-locale") || d.documentElement.lang ||
    (navigator.languages || [navigator.language || ""]).slice(0, 6).join(",");
  var cfgUrl = BASE + "/consent/config" + (lang ? "?locale=" + encodeURIComponent(lang) : "");
  fetch(cfgUrl, { credentials: sameOrigin(cfgUrl) ? "same-origin" : "omit" })
    .then(function (r) { if (!r.ok) throw new Error("shopprivacy: consent config " + r.status); return r.json(); })
    .then(init)
    .catch(function (e) { delete w.shopprivacyConsent; if (w.console) w.console.error(e); });
})();
