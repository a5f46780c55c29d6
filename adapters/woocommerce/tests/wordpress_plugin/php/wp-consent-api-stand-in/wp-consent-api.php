<?php
/**
 * Plugin Name: WP Consent API (test stand-in)
 * Description: Used by the tests only when the real WP Consent API source is not given (SHOPPRIVACY_TEST_WP_CONSENT_API). The parts the shopprivacy plugin relies on, as wp-consent-level-api 2.0.1 defines them: inc/api-functions.php wp_get_consent_type (filter `wp_get_consent_type`, default ''), wp_has_consent (optin: only a `wp_consent_<category>` cookie of `allow` grants; filter `wp_has_consent`), consent_api_registered (filter `wp_consent_api_registered_<basename>`), and assets/js/wp-consent-api.js wp_set_consent / wp_has_consent.
 * Version: 0.0.0
 */

class WP_CONSENT_API {} // phpcs:ignore -- WooCommerce's integration checks class_exists( WP_CONSENT_API::class ).

function wp_get_consent_type() {
	return apply_filters( 'wp_get_consent_type', '' );
}

function wp_has_consent( $category, $requested_by = null ) {
	$type   = wp_get_consent_type();
	$cookie = 'wp_consent_' . $category;
	if ( ! $type ) {
		$has = true;
	} elseif ( false !== strpos( $type, 'optout' ) && ! isset( $_COOKIE[ $cookie ] ) ) {
		$has = true;
	} else {
		$has = isset( $_COOKIE[ $cookie ] ) && 'allow' === $_COOKIE[ $cookie ];
	}
	return apply_filters( 'wp_has_consent', $has, $category, $requested_by );
}

function consent_api_registered( $plugin ) {
	return apply_filters( "wp_consent_api_registered_{$plugin}", false );
}

add_action(
	'wp_enqueue_scripts',
	static function () {
		wp_enqueue_script( 'wp-consent-api', plugins_url( 'wp-consent-api.js', __FILE__ ), array(), '0', true );
		wp_localize_script( 'wp-consent-api', 'consent_api', array( 'consent_type' => wp_get_consent_type(), 'cookie_prefix' => 'wp_consent', 'cookie_expiration' => 30 ) );
	},
	PHP_INT_MAX - 100
);
