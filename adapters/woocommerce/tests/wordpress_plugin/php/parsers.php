<?php
/**
 * Test helper: the plugin's two parsers (the backend URL setting and the banner cookie's payload) with
 * WordPress's own hook API and wp_parse_url (wp-includes/plugin.php and http.php of the package), no database.
 * Reads one JSON case a line on stdin, answers one JSON line each:
 *   {"fn": "base", "value": "..."}                               → {"out": "..." | null}
 *   {"fn": "grants", "cookie": "...", "gpc": bool, "category": "..."} → {"out": true | false | null}
 *
 *   php parsers.php <wordpress dir> <plugin file>
 */

define( 'ABSPATH', rtrim( $argv[1], '/' ) . '/' );
define( 'WPINC', 'wp-includes' );
define( 'WP_PLUGIN_DIR', dirname( $argv[2], 2 ) );
define( 'WPMU_PLUGIN_DIR', WP_PLUGIN_DIR . '/../mu-plugins' );
require ABSPATH . WPINC . '/plugin.php';
require ABSPATH . WPINC . '/http.php';
function wp_normalize_path( $path ) { // phpcs:ignore -- the one helper of functions.php plugin_basename needs.
	return str_replace( '\\', '/', $path );
}
$wp_plugin_paths = array();
require $argv[2];

while ( false !== ( $line = fgets( STDIN ) ) ) {
	$case = json_decode( $line, true );
	if ( 'base' === $case['fn'] ) {
		$out = shopprivacy_consent_clean_base( $case['value'] );
	} else {
		$_COOKIE = '' === $case['cookie'] ? array() : array( 'sp_consent' => $case['cookie'] );
		$_SERVER = $case['gpc'] ? array( 'HTTP_SEC_GPC' => '1' ) : array();
		$out     = shopprivacy_consent_cookie_grants( $case['category'] );
	}
	echo json_encode( array( 'out' => $out ) ), "\n";
	flush();
}
