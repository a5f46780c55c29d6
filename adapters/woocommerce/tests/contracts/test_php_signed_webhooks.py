"""Webhooks signed by php-cli with WooCommerce's own expressions, verified by the adapter's endpoint.

The PHP below evaluates, on the deliveries a test asks for, the expressions of ``WC_Webhook`` (WooCommerce,
``plugins/woocommerce/includes/class-wc-webhook.php``; lines in CONTRACTS.md):

* ``deliver``: body ``trim( wp_json_encode( $payload ) )``; a deleted resource's payload ``array( 'id' => N )``;
* ``generate_signature``: ``base64_encode( hash_hmac( 'sha256', $payload, wp_specialchars_decode( $secret,
  ENT_QUOTES ), true ) )``;
* ``get_new_delivery_id``: ``wp_hash( $webhook_id . strtotime( 'now' ) )``;
* ``deliver_ping``: the unsigned body ``'webhook_id=' . $id``;

with WordPress's ``wp_specialchars_decode`` (formatting.php: numeric entities normalised by ``preg_replace``,
then one ``strtr``) and ``wp_hash`` (pluggable.php: ``hash_hmac( 'md5', $data, wp_salt( 'auth' ) )``, the salt
being ``AUTH_KEY . AUTH_SALT``) written out here. php-cli comes from ``apt-get install php-cli`` (.ci/run);
without it these tests skip, unless ``SHOPPRIVACY_TEST_REQUIRE_PHP=1`` (tox env ``contracts-woo``) makes them fail.
"""

import json
import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from shopprivacy.web.http import Request

pytestmark = pytest.mark.db

PHP = r"""<?php
define( 'AUTH_KEY', 'contract-test auth key, unique' );
define( 'AUTH_SALT', 'contract-test auth salt, unique' );

function wp_specialchars_decode( $text, $quote_style ) {
	$text = (string) $text;
	if ( '' === $text || false === strpos( $text, '&' ) ) {
		return $text;
	}
	$preg = array(
		'/&#0*39;/' => '&#039;', '/&#x0*27;/i' => '&#x27;', '/&#0*34;/' => '&#034;', '/&#x0*22;/i' => '&#x22;',
		'/&#0*60;/' => '&#060;', '/&#0*62;/' => '&#062;', '/&#0*38;/' => '&#038;', '/&#x0*26;/i' => '&#x26;',
	);
	$table = array(
		'&#039;' => "'", '&#x27;' => "'", '&quot;' => '"', '&#034;' => '"', '&#x22;' => '"',
		'&lt;' => '<', '&#060;' => '<', '&gt;' => '>', '&#062;' => '>',
		'&amp;' => '&', '&#038;' => '&', '&#x26;' => '&',
	);
	$text = preg_replace( array_keys( $preg ), array_values( $preg ), $text );
	return strtr( $text, $table );
}
function wp_salt( $scheme ) { return AUTH_KEY . AUTH_SALT; }
function wp_hash( $data ) { return hash_hmac( 'md5', $data, wp_salt( 'auth' ) ); }
function wp_json_encode( $data ) { return json_encode( $data, 0, 512 ); }

$spec = json_decode( file_get_contents( $argv[1] ), true );
do {
	$second = time();
	$out    = array();
	foreach ( $spec['deliveries'] as $d ) {
		if ( 'ping' === $d['topic'] ) {
			$out[] = array( 'headers' => array(), 'body' => 'webhook_id=' . $d['webhook_id'] );
			continue;
		}
		list( $resource, $event ) = explode( '.', $d['topic'] );
		$payload = 'deleted' === $event ? array( 'id' => $d['resource_id'] ) : $d['payload'];
		$body    = trim( wp_json_encode( $payload ) );
		$out[]   = array(
			'body'    => $body,
			'headers' => array(
				'X-WC-Webhook-Source'      => 'https://shop.example/',
				'X-WC-Webhook-Topic'       => $d['topic'],
				'X-WC-Webhook-Resource'    => $resource,
				'X-WC-Webhook-Event'       => $event,
				'X-WC-Webhook-Signature'   => base64_encode(
					hash_hmac( 'sha256', $body, wp_specialchars_decode( $d['secret'], ENT_QUOTES ), true )
				),
				'X-WC-Webhook-ID'          => (string) $d['webhook_id'],
				'X-WC-Webhook-Delivery-ID' => wp_hash( $d['webhook_id'] . strtotime( 'now' ) ),
			),
		);
	}
} while ( time() !== $second ); // all in one second, as a bulk action sends them
echo json_encode( $out );
"""


@pytest.fixture(scope="module")
def php(tmp_path_factory):
    exe = shutil.which("php")
    if exe is None:
        if os.environ.get("SHOPPRIVACY_TEST_REQUIRE_PHP") == "1":
            pytest.fail("php-cli is required here: apt-get install -y php-cli")
        pytest.skip("php-cli is not installed (apt-get install -y php-cli)")
    script = tmp_path_factory.mktemp("php") / "wc_webhook.php"
    script.write_text(PHP, encoding="utf-8")

    def deliver(*deliveries):
        spec = script.with_suffix(".json")
        spec.write_text(json.dumps({"deliveries": list(deliveries)}), encoding="utf-8")
        done = subprocess.run([exe, str(script), str(spec)], capture_output=True, check=True, timeout=60)
        return [(dict(d["headers"] or {}), d["body"].encode("utf-8")) for d in json.loads(done.stdout)]
    return deliver


@pytest.fixture
def endpoint(sp):
    (route,) = sp.adapter_routes
    return route.handler


def send(endpoint, headers, body):
    return endpoint(Request("POST", "/privacy/webhooks/woocommerce", body=body,
                            headers={"Content-Type": "application/json", **headers}))


SECRET = "whsec-0123456789abcdef"


def test_ping_is_answered_200_and_does_nothing(sp, endpoint, php):
    ((headers, body),) = php({"topic": "ping", "webhook_id": 12})
    assert body == b"webhook_id=12" and headers == {}
    assert send(endpoint, headers, body).status == 200
    assert sp.outbox.deliver_due().delivered == 0


def test_bulk_delete_in_one_second_opens_every_erasure(sp, endpoint, php):
    deliveries = php(*({"topic": "customer.deleted", "webhook_id": 12, "resource_id": n, "secret": SECRET}
                       for n in (101, 102, 103)))
    assert len({h["X-WC-Webhook-Delivery-ID"] for h, _ in deliveries}) == 1  # WooCommerce repeats the id
    assert [b for _, b in deliveries] == [b'{"id":101}', b'{"id":102}', b'{"id":103}']
    for headers, body in deliveries:
        assert json.loads(send(endpoint, headers, body).body)["detail"] == "accepted"
    headers, body = deliveries[0]
    assert json.loads(send(endpoint, headers, body).body)["detail"] == "duplicate delivery"
    assert sp.outbox.deliver_due().delivered == 3
    assert len(sp.rights.find(limit=10)) == 3


def test_subscription_deleted_from_php_releases_the_hold(sp, endpoint, php, shop):
    from shopprivacy.retention.tables import legal_holds

    cid = shop.add_customer("jane@example.com")
    sid = shop.add_subscription(cid)
    created = php({"topic": "subscription.created", "webhook_id": 7, "payload": shop.subscriptions[sid],
                   "secret": SECRET})
    assert send(endpoint, *created[0]).status == 200
    sp.outbox.deliver_due()
    del shop.subscriptions[sid]
    ((headers, body),) = php({"topic": "subscription.deleted", "webhook_id": 8, "resource_id": sid,
                              "secret": SECRET})
    assert body == json.dumps({"id": sid}, separators=(",", ":")).encode()
    assert send(endpoint, headers, body).status == 200
    sp.outbox.deliver_due()
    with sp.store.begin(write=False) as conn:
        assert conn.execute(select(legal_holds.c.row_key)).all() == []


_entity = st.sampled_from(["&amp;", "&quot;", "&#039;", "&#39;", "&#x27;", "&#X27;", "&lt;", "&gt;", "&#038;",
                           "&#x26;", "&#0038;", "&amp;amp;", "&eacute;", "&", "'", '"'])
_secret = st.lists(st.one_of(_entity, st.text(alphabet="abcXYZ019-_ ~é", min_size=1, max_size=4)),
                   min_size=1, max_size=8).map("".join)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secrets=st.lists(_secret, min_size=5, max_size=10))
def test_entity_encoded_secrets_are_verified_as_woocommerce_signs(sp, endpoint, php, adapter, options_factory,
                                                                  secrets):
    deliveries = php(*({"topic": "order.updated", "webhook_id": 3, "payload": {"id": i, "note": s},
                        "secret": s} for i, s in enumerate(secrets, 1)))
    for secret, (headers, body) in zip(secrets, deliveries, strict=False):
        object.__setattr__(adapter, "options", options_factory(webhook_secret=secret))
        assert send(endpoint, headers, body).status == 200, secret


def test_consent_changed_in_wordpress_signed_by_php_is_applied_once_by_run_due(sp, endpoint, php, shop):
    """``customer.updated`` carries the REST customer with ``meta_data`` (CONTRACTS.md, *Webhooks*): the consent
    meta a WordPress plugin wrote is applied, the newest time wins whatever the order, a repeat is dropped."""
    cid = shop.add_customer("jane@example.com")

    def with_consent(subscribed, at):
        data = dict(shop.customers[cid])
        data["meta_data"] = [{"id": 31, "key": "shopprivacy_marketing_newsletter",
                              "value": {"subscribed": subscribed, "opt_in_level": "confirmed_opt_in",
                                        "updated_at": at, "source": "wp-plugin/1.0"}}]
        return {"topic": "customer.updated", "webhook_id": 21, "payload": data, "secret": SECRET}

    newer, older = php(with_consent(False, "2026-11-24T10:00:00+00:00"),
                       with_consent(True, "2026-11-24T09:00:00+00:00"))
    assert b"wp-plugin\\/1.0" in newer[1]  # wp_json_encode escapes slashes: the raw body is what is signed
    for headers, body in (newer, older, newer):
        assert send(endpoint, headers, body).status == 200
    report = sp.run_due()
    assert report.outbox.dead == 0, report.outbox.errors
    assert sp.email.is_suppressed("jane@example.com", "newsletter")
    assert [(h["action"], h["source"]) for h in sp.email.subjects.history("jane@example.com")] == [
        ("platform_unsubscribed", "woocommerce:withdrawn:wp-plugin/1.0")]
