<?php
/**
 * Plugin Name: shopprivacy companion
 * Description: Lets the shopprivacy SDK anonymise an order or an ended subscription with WooCommerce's own eraser, so totals and taxes stay as they are.
 * Version: 0.1.0
 * Requires PHP: 7.4
 * Requires Plugins: woocommerce
 * License: MIT
 *
 * Why: a REST `PUT /wc/v3/orders/{id}` carrying `billing` or `shipping` makes the orders controller run
 * `calculate_totals( true )` (WC_REST_Orders_Controller::save_object), recomputing taxes and totals with the
 * emptied address. WooCommerce's own eraser, `WC_Privacy_Erasers::remove_order_personal_data`, sets the
 * anonymised props and saves without recalculating. This plugin exposes that eraser (and WooCommerce
 * Subscriptions' `WCS_Privacy_Erasers::remove_subscription_personal_data`) to a WooCommerce REST key:
 *
 *   PUT /wp-json/wc-shopprivacy/v1/orders/{id}/anonymize          {"keep_invoice": bool, "delete_meta_ids": [int]}
 *   PUT /wp-json/wc-shopprivacy/v1/subscriptions/{id}/anonymize   {"delete_meta_ids": [int]}
 *
 * The `wc-` namespace prefix lets WooCommerce authenticate the request with its REST keys
 * (WC_REST_Authentication::is_request_to_rest_api accepts `wc-*` for third parties) and enforce the key's
 * write permission. The user behind the key needs the `edit_shop_orders` capability (Shop manager).
 *
 * @package shopprivacy
 */

defined( 'ABSPATH' ) || exit;

/** Billing props kept on a paid order younger than the tax-retention period (invoice records). */
const SHOPPRIVACY_INVOICE_PROPS = array(
	'billing_first_name',
	'billing_last_name',
	'billing_company',
	'billing_address_1',
	'billing_address_2',
	'billing_city',
	'billing_postcode',
	'billing_state',
	'billing_country',
	'transaction_id',
);

add_action( 'rest_api_init', 'shopprivacy_register_routes' );

/**
 * Register the two anonymise routes.
 */
function shopprivacy_register_routes() {
	$args = array(
		'id'              => array(
			'type'     => 'integer',
			'minimum'  => 1,
			'required' => true,
		),
		'keep_invoice'    => array(
			'type'    => 'boolean',
			'default' => false,
		),
		'delete_meta_ids' => array(
			'type'    => 'array',
			'items'   => array(
				'type'    => 'integer',
				'minimum' => 1,
			),
			'default' => array(),
		),
	);
	foreach ( array( 'orders', 'subscriptions' ) as $kind ) {
		register_rest_route(
			'wc-shopprivacy/v1',
			'/' . $kind . '/(?P<id>[\d]+)/anonymize',
			array(
				'methods'             => 'PUT',
				'callback'            => function ( WP_REST_Request $request ) use ( $kind ) {
					return shopprivacy_anonymize( $kind, $request );
				},
				'permission_callback' => function () {
					return current_user_can( 'edit_shop_orders' );
				},
				'args'                => $args,
			)
		);
	}
}

/**
 * The money figures that must not change.
 *
 * @param WC_Order $order Order or subscription.
 * @return array
 */
function shopprivacy_totals( $order ) {
	return array(
		'total'          => (string) $order->get_total( 'edit' ),
		'total_tax'      => (string) $order->get_total_tax( 'edit' ),
		'cart_tax'       => (string) $order->get_cart_tax( 'edit' ),
		'shipping_total' => (string) $order->get_shipping_total( 'edit' ),
		'shipping_tax'   => (string) $order->get_shipping_tax( 'edit' ),
		'discount_total' => (string) $order->get_discount_total( 'edit' ),
	);
}

/**
 * Anonymise one order or ended subscription with WooCommerce's own eraser.
 *
 * @param string          $kind    'orders' or 'subscriptions'.
 * @param WP_REST_Request $request The request.
 * @return array|WP_Error
 */
function shopprivacy_anonymize( $kind, WP_REST_Request $request ) {
	$order = wc_get_order( absint( $request['id'] ) );
	$is_subscription = function_exists( 'wcs_is_subscription' ) && $order && wcs_is_subscription( $order );
	if ( ! $order || ( 'subscriptions' === $kind ) !== $is_subscription || $order instanceof WC_Order_Refund ) {
		return new WP_Error( 'woocommerce_rest_invalid_id', 'Invalid ID.', array( 'status' => 404 ) );
	}
	if ( $is_subscription && $order->has_status( array( 'pending', 'active', 'on-hold', 'pending-cancel' ) ) ) {
		return new WP_Error( 'shopprivacy_subscription_live', 'A live subscription is not anonymised.', array( 'status' => 409 ) );
	}
	$before = shopprivacy_totals( $order );

	foreach ( (array) $request['delete_meta_ids'] as $mid ) {
		$order->delete_meta_data_by_mid( absint( $mid ) );
	}
	$order->set_customer_note( '' ); // free text the customer typed; the eraser below saves it.

	$keep_invoice = (bool) $request['keep_invoice'] && ! $is_subscription;
	$keep         = function ( $props ) {
		return array_diff_key( $props, array_flip( SHOPPRIVACY_INVOICE_PROPS ) );
	};
	if ( $keep_invoice ) {
		add_filter( 'woocommerce_privacy_remove_order_personal_data_props', $keep );
	}
	try {
		if ( $is_subscription ) {
			WCS_Privacy_Erasers::remove_subscription_personal_data( $order );
		} else {
			WC_Privacy_Erasers::remove_order_personal_data( $order );
		}
	} finally {
		remove_filter( 'woocommerce_privacy_remove_order_personal_data_props', $keep );
	}

	$after = shopprivacy_totals( wc_get_order( $order->get_id() ) );
	return array(
		'id'               => $order->get_id(),
		'anonymized'       => true,
		'kept_invoice'     => $keep_invoice,
		'totals_unchanged' => $before === $after,
	);
}
