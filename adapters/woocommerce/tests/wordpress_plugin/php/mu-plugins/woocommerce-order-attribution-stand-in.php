<?php
/**
 * Test stand-in for WooCommerce's Order Attribution script, not WooCommerce: the page gets the object
 * WooCommerce's OrderAttributionController::enqueue_scripts_and_styles() localizes
 * (`wc_order_attribution.params.allowTracking` from the `wc_order_attribution_allow_tracking` filter), and a
 * `setOrderTracking( allow )` that sets that flag as order-attribution.js does and records each call.
 */

add_action(
	'wp_head',
	static function () {
		// `?sp_cached_allow=1`: the page as a full-page cache may serve it, rendered for another visitor who allowed tracking
		$allow = isset( $_GET['sp_cached_allow'] ) || (bool) apply_filters( 'wc_order_attribution_allow_tracking', true );
		printf(
			'<script>window.wc_order_attribution = {params: {allowTracking: %s}, calls: [],'
			. ' setOrderTracking: function (allow) { this.params.allowTracking = allow; this.calls.push(allow); }};</script>' . "\n",
			$allow ? 'true' : 'false'
		);
	},
	1
);
