"""Bean There on Django: the same shop as ``examples/flask_shop`` (encrypted accounts with blind-index login,
a double opt-in newsletter, consent-gated tags, a renewed subscription, the privacy portal), built with the
Django integration: ``INSTALLED_APPS``, ``ConsentMiddleware``, ``{% shopprivacy_banner %}``, the encrypted
model fields, ``ModelSource`` and the management commands. ``python -m examples.django_shop`` is ``manage.py``.
"""
