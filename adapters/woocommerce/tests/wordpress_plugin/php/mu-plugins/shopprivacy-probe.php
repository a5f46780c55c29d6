<?php
/**
 * Test helper (must-use plugin): `/?sp_probe=1` answers what WordPress itself concludes from the request's
 * cookies: the WP Consent API's wp_has_consent() per category and consent type, whether this plugin counts
 * as registered, and what WooCommerce would read from `wc_order_attribution_allow_tracking`. No mail leaves.
 */

add_filter( 'pre_wp_mail', '__return_false' );

add_action(
	'template_redirect',
	static function () {
		if ( ! isset( $_GET['sp_probe'] ) ) {
			return;
		}
		$has = array();
		foreach ( array( 'functional', 'preferences', 'statistics', 'statistics-anonymous', 'marketing' ) as $c ) {
			$has[ $c ] = function_exists( 'wp_has_consent' ) ? wp_has_consent( $c ) : null;
		}
		wp_send_json(
			array(
				'consent_type'   => function_exists( 'wp_get_consent_type' ) ? wp_get_consent_type() : null,
				'has_consent'    => $has,
				'registered'     => function_exists( 'consent_api_registered' ) ? consent_api_registered( 'shopprivacy-consent/shopprivacy-consent.php' ) : null,
				'allow_tracking' => (bool) apply_filters( 'wc_order_attribution_allow_tracking', true ),
			)
		);
	}
);
