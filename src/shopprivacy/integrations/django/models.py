"""No Django models: the SDK's ``sp_`` tables are managed by its own migrations (Alembic). The module exists so
that ``manage.py migrate`` sends this app ``post_migrate``, on which those tables are upgraded."""
