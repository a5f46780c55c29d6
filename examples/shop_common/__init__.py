"""What both example shops (Flask and Django) share, all framework-free: the product catalogue, the mail
folder with the senders the SDK calls, the newsletter (double opt-in and sending) and the static assets
(stylesheet, and the analytics and marketing tags the consent banner gates)."""

from pathlib import Path

#: ``shop.css`` and the consent-gated ``analytics.js`` / ``marketing.js`` with their pixels.
STATIC_DIR = Path(__file__).resolve().parent / "static"
