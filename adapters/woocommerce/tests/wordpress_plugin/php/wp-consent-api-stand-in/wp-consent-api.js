/* Test stand-in of wp-consent-level-api's assets/js/wp-consent-api.js: cookie `wp_consent_<category>`,
   event `wp_listen_for_consent_change` on a change. */
window.wp_fallback_consent_type = consent_api.consent_type;
function consent_api_get_cookie(name) {
  var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
  return m ? m[1] : "";
}
function wp_has_consent(category) {
  var type = window.wp_consent_type || window.wp_fallback_consent_type;
  var value = consent_api_get_cookie(consent_api.cookie_prefix + "_" + category);
  if (!type) return true;
  if (type.indexOf("optout") !== -1 && value === "") return true;
  return value === "allow";
}
function wp_set_consent(category, value) {
  if (value !== "allow" && value !== "deny") return;
  var name = consent_api.cookie_prefix + "_" + category, previous = consent_api_get_cookie(name);
  document.cookie = name + "=" + value + ";max-age=" + consent_api.cookie_expiration * 86400 + ";path=/";
  if (previous === value) return;
  var detail = {}; detail[category] = value;
  document.dispatchEvent(new CustomEvent("wp_listen_for_consent_change", { detail: detail }));
}
