/* shopprivacy consent → WP Consent API and WooCommerce Order Attribution. No dependencies; loaded in <head>
   before the banner, so it hears every `shopprivacy:consent` event: after each choice and on each page view
   with a stored choice (detail: {granted: [SDK categories in effect, GPC applied], gpc}). */
(function () {
  "use strict";
  var d = document, w = window, last = null, ready = d.readyState !== "loading", announcing = false;
  // SDK category → WP Consent API categories; "functional" is the SDK's "necessary", always allowed
  var MAP = { analytics: ["statistics", "statistics-anonymous"], marketing: ["marketing"],
    preferences: ["preferences"] };

  function sync() {
    if (!last) return;
    if (typeof w.wp_set_consent === "function") {
      w.wp_set_consent("functional", "allow");
      Object.keys(MAP).forEach(function (k) {
        var value = last.indexOf(k) >= 0 ? "allow" : "deny";
        MAP[k].forEach(function (c) { w.wp_set_consent(c, value); });
      });
    }
    var wc = w.wc_order_attribution;
    if (wc && typeof wc.setOrderTracking === "function") wc.setOrderTracking(last.indexOf("marketing") >= 0);
  }

  d.addEventListener("shopprivacy:consent", function (e) {
    last = (e.detail && e.detail.granted) || [];
    if (ready) sync();  // else at DOMContentLoaded, once the footer scripts (wp-consent-api.js) are there
  });
  // another script (a geo-location plugin, say) redefined the consent type: state the choice again under it
  // (not the announcement start() makes itself: the choice was just stated, once per page view)
  d.addEventListener("wp_consent_type_defined", function () { if (ready && !announcing) sync(); });

  function start() {
    ready = true;
    w.wp_consent_type = "optin";
    sync();
    // no choice yet (no banner cookie), yet the page says tracking is allowed: a full-page cache served a page
    // rendered for a visitor who had allowed it. Switch it off until this visitor chooses.
    var wc = w.wc_order_attribution;
    if (!last && !/(?:^|; )sp_consent=/.test(d.cookie) && wc && wc.params && wc.params.allowTracking &&
        typeof wc.setOrderTracking === "function") wc.setOrderTracking(false);
    // tell plugins waiting for it (WooCommerce's WP Consent API integration among them) that the type is set
    announcing = true;  // dispatchEvent runs the listeners before it returns
    try { d.dispatchEvent(new CustomEvent("wp_consent_type_defined")); } finally { announcing = false; }
  }
  if (ready) start(); else d.addEventListener("DOMContentLoaded", start);
})();
