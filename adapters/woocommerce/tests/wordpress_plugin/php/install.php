<?php
/**
 * Test helper: installs WordPress non-interactively into the docroot given, activates plugins, sets options.
 *
 *   php install.php <docroot> install
 *   php install.php <docroot> configure '<json: {"activate": [...], "deactivate": [...], "options": {...}}>'
 */

$docroot = $argv[1];
$mode    = $argv[2];
$home    = parse_url( getenv( 'WP_TEST_HOME' ) );
$_SERVER['HTTP_HOST']   = $home['host'] . ( isset( $home['port'] ) ? ':' . $home['port'] : '' );
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';

if ( 'install' === $mode ) {
	define( 'WP_INSTALLING', true );
}
require $docroot . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

if ( 'install' === $mode ) {
	$result = wp_install( 'Green Grocer', 'admin', 'admin@shop.test', false, '', getenv( 'WP_TEST_PASSWORD' ) );
	echo wp_json_encode( array( 'user_id' => $result['user_id'] ) ), "\n";
	exit( 0 );
}

$spec = json_decode( $argv[3], true );
foreach ( $spec['options'] as $name => $value ) {
	update_option( $name, $value );
}
foreach ( $spec['activate'] as $plugin ) {
	$error = activate_plugin( $plugin );
	if ( is_wp_error( $error ) ) {
		fwrite( STDERR, $plugin . ': ' . $error->get_error_message() . "\n" );
		exit( 1 );
	}
}
deactivate_plugins( $spec['deactivate'] );
echo wp_json_encode( array( 'active' => get_option( 'active_plugins' ) ) ), "\n";
