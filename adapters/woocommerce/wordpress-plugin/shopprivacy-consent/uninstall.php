<?php
/**
 * Removes the plugin's one option when the plugin is deleted. The consent proof lives on the backend.
 *
 * @package shopprivacy
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'shopprivacy_consent_base' );
