<?php
/**
 * Plugin Name: shopprivacy consent
 * Description: Puts the shopprivacy cookie banner on the storefront, registers it with the WP Consent API and makes WooCommerce Order Attribution follow the visitor's marketing choice.
 * Version: 0.1.0
 * Requires at least: 6.1
 * Requires PHP: 7.4
 * License: MIT
 *
 * The banner is the SDK's own `consent.js`, loaded from the backend (Settings → shopprivacy consent → backend
 * URL). It records each choice on the backend itself, across origins (the backend lists this site in
 * SHOPPRIVACY_CONSENT__ALLOWED_ORIGINS), and keeps the signed consent as a first-party cookie of this site.
 * WordPress holds no secret and relays nothing: see README.md, "Why the banner posts to the backend itself".
 *
 * @package shopprivacy
 */

defined( 'ABSPATH' ) || exit;

const SHOPPRIVACY_CONSENT_VERSION = '0.1.0';
/** Option holding the backend's mount URL, e.g. https://privacy.shop.example/privacy (no trailing slash). */
const SHOPPRIVACY_CONSENT_OPTION = 'shopprivacy_consent_base';
/** The banner's cookie (the SDK's default `consent.cookie_name`). */
const SHOPPRIVACY_CONSENT_COOKIE = 'sp_consent';

/**
 * The backend's mount URL: the `SHOPPRIVACY_CONSENT_BASE` constant (wp-config.php) wins over the option.
 *
 * @return string An http(s) URL without trailing slash, or '' when not configured.
 */
function shopprivacy_consent_base() {
	$base = defined( 'SHOPPRIVACY_CONSENT_BASE' ) ? (string) SHOPPRIVACY_CONSENT_BASE : (string) get_option( SHOPPRIVACY_CONSENT_OPTION, '' );
	$base = shopprivacy_consent_clean_base( $base );
	return null === $base ? '' : $base;
}

/**
 * Validate a backend URL: http(s), a host, no query, fragment or user info; the trailing slash is dropped.
 *
 * @param string $value What the administrator typed.
 * @return string|null The cleaned URL, '' for empty, null when it is not such a URL.
 */
function shopprivacy_consent_clean_base( $value ) {
	$value = trim( (string) $value );
	if ( '' === $value ) {
		return '';
	}
	$parts = wp_parse_url( $value );
	if ( ! is_array( $parts ) || empty( $parts['host'] ) || ! in_array( strtolower( $parts['scheme'] ?? '' ), array( 'http', 'https' ), true )
		|| isset( $parts['query'] ) || isset( $parts['fragment'] ) || isset( $parts['user'] ) || isset( $parts['pass'] )
		|| strlen( $value ) > 2048 || preg_match( '/[\s"\'<>\\\\]/', $value ) ) {
		return null;
	}
	return rtrim( $value, '/' );
}

/*
 * WP Consent API: this plugin manages consent (wp-consent-level-api, readme.md "PHP" example and
 * inc/api-functions.php wp_is_consent_api_registered / wp_get_consent_type).
 */
add_filter( 'wp_consent_api_registered_' . plugin_basename( __FILE__ ), '__return_true' );
add_filter(
	'wp_get_consent_type',
	static function () {
		return 'optin';
	}
);

/**
 * Did the signed-in customer opt out of the sale/sharing of their data (a rights request to the backend)?
 *
 * The backend writes the customer meta `shopprivacy_sale_opt_out` (`{"opted_out": true, ...}`) through the
 * WooCommerce REST API; WooCommerce keeps customer meta as user meta. While it says so, `sale_of_data` counts as
 * denied for this customer on every visit, whatever the browser's cookie says.
 *
 * @return bool
 */
function shopprivacy_consent_sale_opted_out() {
	if ( ! function_exists( 'get_current_user_id' ) || ! function_exists( 'get_user_meta' ) ) {
		return false; // loaded outside WordPress (the plugin's parsers alone): no signed-in customer.
	}
	$user_id = get_current_user_id();
	if ( ! $user_id ) {
		return false;
	}
	$value = get_user_meta( $user_id, 'shopprivacy_sale_opt_out', true );
	return is_array( $value ) && isset( $value['opted_out'] ) && true === $value['opted_out'];
}

/**
 * Does the visitor's banner choice grant the SDK category `$category`?
 *
 * Reads the payload of the first-party `sp_consent` cookie the banner wrote (the backend's signed value).
 * WordPress cannot check the signature (it holds no key, by design): the answer only decides whether this
 * visitor's own browser is tracked, never proof. The proof is the backend's row. Under GPC (`Sec-GPC: 1`)
 * marketing and sale of data count only when the visitor granted them under the signal, as in the banner.
 *
 * @param string $category An SDK category: analytics, marketing, preferences, sale_of_data.
 * @return bool|null Null when the visitor has made no choice (or the cookie is unreadable).
 */
function shopprivacy_consent_cookie_grants( $category ) {
	if ( 'sale_of_data' === $category && shopprivacy_consent_sale_opted_out() ) {
		return false;
	}
	// phpcs:ignore WordPress.Security.ValidatedSanitizedInput -- only decoded and compared, never output.
	$raw = isset( $_COOKIE[ SHOPPRIVACY_CONSENT_COOKIE ] ) ? (string) $_COOKIE[ SHOPPRIVACY_CONSENT_COOKIE ] : '';
	if ( '' === $raw || strlen( $raw ) > 4096 ) {
		return null;
	}
	$payload = explode( '.', $raw, 2 )[0];
	$json    = base64_decode( strtr( $payload, '-_', '+/' ), true );
	$data    = false === $json ? null : json_decode( $json, true );
	if ( ! is_array( $data ) || ! isset( $data['g'] ) || ! is_array( $data['g'] ) ) {
		return null;
	}
	$gpc = isset( $_SERVER['HTTP_SEC_GPC'] ) && '1' === trim( (string) $_SERVER['HTTP_SEC_GPC'] );
	if ( $gpc && empty( $data['o'] ) && in_array( $category, array( 'marketing', 'sale_of_data' ), true ) ) {
		return false;
	}
	return in_array( $category, $data['g'], true );
}

/*
 * WooCommerce Order Attribution follows the marketing choice. WooCommerce reads
 * apply_filters( 'wc_order_attribution_allow_tracking', true ) into wc_order_attribution.params.allowTracking
 * (OrderAttributionController::enqueue_scripts_and_styles); its own WP Consent API integration returns
 * wp_has_consent( 'marketing' ) at priority 10 (Internal/Integrations/WPConsentAPI::on_init). This runs after
 * it, so the answer holds with or without the WP Consent API plugin; the browser side
 * (wc_order_attribution.setOrderTracking) is driven by assets/wp-consent-bridge.js.
 */
add_filter(
	'wc_order_attribution_allow_tracking',
	static function ( $allow ) {
		if ( function_exists( 'wp_has_consent' ) ) {
			return wp_has_consent( 'marketing', plugin_basename( __FILE__ ) );
		}
		return true === shopprivacy_consent_cookie_grants( 'marketing' );
	},
	20
);

/** The banner and the bridge to the WP Consent API and WooCommerce, on every storefront page. */
function shopprivacy_consent_enqueue() {
	$base = shopprivacy_consent_base();
	if ( '' === $base ) {
		return;
	}
	// The bridge first, in <head>: it listens before the banner can report a choice.
	wp_enqueue_script( 'shopprivacy-wp-consent-bridge', plugins_url( 'assets/wp-consent-bridge.js', __FILE__ ), array(), SHOPPRIVACY_CONSENT_VERSION, false );
	// The version stays off the URL (null): the backend serves the banner that matches its own policy.
	wp_enqueue_script( 'shopprivacy-consent', $base . '/consent/consent.js', array( 'shopprivacy-wp-consent-bridge' ), null, false ); // phpcs:ignore WordPress.WP.EnqueuedResourceParameters.MissingVersion
}
add_action( 'wp_enqueue_scripts', 'shopprivacy_consent_enqueue', 5 );

add_filter(
	'script_loader_tag',
	static function ( $tag, $handle ) {
		if ( 'shopprivacy-consent' !== $handle ) {
			return $tag;
		}
		$attrs = ' data-sp-base="' . esc_attr( shopprivacy_consent_base() ) . '" async';
		return preg_replace( '/<script(?=[\s>])/', '<script' . $attrs, $tag, 1 );
	},
	10,
	2
);

/** Settings → shopprivacy consent: the backend URL. */
function shopprivacy_consent_settings() {
	register_setting(
		'shopprivacy_consent',
		SHOPPRIVACY_CONSENT_OPTION,
		array(
			'type'              => 'string',
			'default'           => '',
			'sanitize_callback' => static function ( $value ) {
				$clean = shopprivacy_consent_clean_base( $value );
				if ( null === $clean ) {
					add_settings_error( SHOPPRIVACY_CONSENT_OPTION, 'shopprivacy-consent-base', __( 'The backend URL must be an http(s) URL such as https://privacy.shop.example/privacy, without query or fragment. Nothing was changed.', 'shopprivacy-consent' ) );
					return (string) get_option( SHOPPRIVACY_CONSENT_OPTION, '' );
				}
				return $clean;
			},
		)
	);
	add_settings_section( 'shopprivacy_consent_main', '', '__return_false', 'shopprivacy-consent' );
	add_settings_field(
		SHOPPRIVACY_CONSENT_OPTION,
		__( 'Backend URL', 'shopprivacy-consent' ),
		static function () {
			printf(
				'<input type="url" class="regular-text code" id="%1$s" name="%1$s" value="%2$s" placeholder="https://privacy.shop.example/privacy"%3$s>'
				. '<p class="description">%4$s</p>',
				esc_attr( SHOPPRIVACY_CONSENT_OPTION ),
				esc_attr( shopprivacy_consent_base() ),
				defined( 'SHOPPRIVACY_CONSENT_BASE' ) ? ' readonly' : '',
				esc_html(
					sprintf(
						/* translators: %s: this site's origin */
						__( 'Where the shopprivacy routes are mounted (the SDK\'s public base URL and its prefix, default /privacy). On the backend, list this site\'s origin: SHOPPRIVACY_CONSENT__ALLOWED_ORIGINS=%s', 'shopprivacy-consent' ),
						shopprivacy_consent_origin()
					)
				)
			);
		},
		'shopprivacy-consent',
		'shopprivacy_consent_main',
		array( 'label_for' => SHOPPRIVACY_CONSENT_OPTION )
	);
}
add_action( 'admin_init', 'shopprivacy_consent_settings' );

/** This site's origin (scheme://host[:port]) as the backend must list it. */
function shopprivacy_consent_origin() {
	$home = wp_parse_url( home_url() );
	return ( $home['scheme'] ?? 'https' ) . '://' . ( $home['host'] ?? '' ) . ( isset( $home['port'] ) ? ':' . $home['port'] : '' );
}

add_action(
	'admin_menu',
	static function () {
		add_options_page(
			__( 'shopprivacy consent', 'shopprivacy-consent' ),
			__( 'shopprivacy consent', 'shopprivacy-consent' ),
			'manage_options',
			'shopprivacy-consent',
			static function () {
				echo '<div class="wrap"><h1>' . esc_html__( 'shopprivacy consent', 'shopprivacy-consent' ) . '</h1><form method="post" action="options.php">';
				settings_fields( 'shopprivacy_consent' );
				do_settings_sections( 'shopprivacy-consent' );
				submit_button();
				echo '</form></div>';
			}
		);
	}
);
