"""A real WordPress (Debian's ``wordpress`` package) in a temporary docroot on MariaDB, served by ``php -S``.

The package's own ``wp-config.php`` reads ``/etc/wordpress/config-<host>.php``; the docroot here has copies of
the root PHP files (``ABSPATH`` is the directory of ``wp-load.php``, symlinks resolved), a ``wp-config.php`` of
its own, and symlinks to the package's ``wp-admin`` and ``wp-includes``. Each site gets its own database,
dropped on :meth:`WordPress.stop`.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from pathlib import Path

WORDPRESS = Path(os.environ.get("SHOPPRIVACY_TEST_WORDPRESS", "/usr/share/wordpress"))
PHP = shutil.which("php") or "php"
MARIADB = ("127.0.0.1", 3306)
HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parents[1] / "wordpress-plugin" / "shopprivacy-consent"
PLUGIN_FILE = "shopprivacy-consent/shopprivacy-consent.php"


def missing() -> str | None:
    """Why a WordPress site cannot be run here, or None."""
    if shutil.which("php") is None:
        return "php-cli is not installed (apt-get install php-cli php-mysql)"
    if not (WORDPRESS / "wp-settings.php").is_file():
        return f"WordPress is not at {WORDPRESS} (apt-get install wordpress)"
    mods = subprocess.run([PHP, "-m"], capture_output=True, text=True, check=False).stdout.split()
    if "mysqli" not in mods:
        return "php's mysqli extension is missing (apt-get install php-mysql)"
    try:
        socket.create_connection(MARIADB, timeout=2).close()
    except OSError:
        return f"MariaDB is not answering on {MARIADB[0]}:{MARIADB[1]}"
    chromium = os.environ.get("SHOPPRIVACY_TEST_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(chromium):
        return f"Debian's chromium is not at {chromium} (apt-get install chromium)"
    return None


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def consent_api_source(target: Path) -> str:
    """Put the WP Consent API plugin into ``target``: the real plugin's source when
    ``SHOPPRIVACY_TEST_WP_CONSENT_API`` names a checkout or a git directory of WordPress/wp-consent-level-api,
    else the tests' stand-in. Returns which was used."""
    given = os.environ.get("SHOPPRIVACY_TEST_WP_CONSENT_API", "")
    if given and (Path(given) / "wp-consent-api.php").is_file():
        shutil.copytree(given, target, ignore=shutil.ignore_patterns(".git", "node_modules"))
        return "real"
    if given:
        archive = subprocess.run(["git", "--git-dir", given, "archive", "--format=tar", "HEAD"],
                                 capture_output=True, check=True).stdout
        target.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
        if not (target / "wp-consent-api.php").is_file():
            raise RuntimeError(f"{given} holds no wp-consent-api.php")
        return "real"
    shutil.copytree(HERE / "php" / "wp-consent-api-stand-in", target)
    return "stand-in"


def _sql(statement: str) -> None:
    code = ("$m = new mysqli($argv[1], 'root', '', null, (int) $argv[2]); "
            "if (!$m->query($argv[3])) { fwrite(STDERR, $m->error); exit(1); }")
    subprocess.run([PHP, "-r", code, MARIADB[0], str(MARIADB[1]), statement], check=True, capture_output=True)


class WordPress:
    """One WordPress site at ``http://<host>:<port>`` with the shopprivacy consent plugin."""

    def __init__(self, root: Path, host: str = "127.0.0.2", *, admin: bool = False) -> None:
        #: ``admin``: copy ``wp-admin`` (its entry points load ``wp-load.php`` next to their real directory) so
        #: the dashboard works; the storefront alone needs only the symlink.
        self.root, self.host, self.admin = root, host, admin
        self.password = secrets.token_urlsafe(18)
        self.port = free_port(host)
        self.origin = f"http://{host}:{self.port}"
        self.database = "wp_sp_" + secrets.token_hex(6)
        self.consent_api = ""
        self._server: subprocess.Popen[bytes] | None = None
        self.log = root / "php-server.log"

    def _config(self) -> str:
        keys = "".join(f"define('{k}', '{secrets.token_hex(32)}');\n" for k in (
            "AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
            "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"))
        return ("<?php\n"
                f"define('DB_NAME', '{self.database}');\ndefine('DB_USER', 'root');\ndefine('DB_PASSWORD', '');\n"
                f"define('DB_HOST', '{MARIADB[0]}:{MARIADB[1]}');\ndefine('DB_CHARSET', 'utf8mb4');\n"
                "define('DB_COLLATE', '');\n" + keys + "$table_prefix = 'wp_';\n"
                f"define('WP_HOME', '{self.origin}');\ndefine('WP_SITEURL', '{self.origin}');\n"
                f"define('WP_CONTENT_DIR', '{self.root}/wp-content');\n"
                f"define('WP_CONTENT_URL', '{self.origin}/wp-content');\n"
                "define('DISABLE_WP_CRON', true);\ndefine('AUTOMATIC_UPDATER_DISABLED', true);\n"
                "define('WP_HTTP_BLOCK_EXTERNAL', true);\ndefine('WP_DEBUG', false);\n"
                "if (!defined('ABSPATH')) { define('ABSPATH', __DIR__ . '/'); }\n"
                "require_once ABSPATH . 'wp-settings.php';\n")

    def install(self, base: str) -> WordPress:
        """Lay out the docroot, create the database, install WordPress, activate the WP Consent API and the
        shopprivacy plugin with ``base`` as the backend URL."""
        self.root.mkdir(parents=True, exist_ok=True)
        for entry in WORDPRESS.iterdir():
            if entry.name == "wp-admin" and self.admin:
                shutil.copytree(entry, self.root / entry.name, symlinks=True)
            elif entry.name in ("wp-admin", "wp-includes"):
                (self.root / entry.name).symlink_to(entry)
            elif entry.suffix == ".php" and entry.name != "wp-config.php":
                shutil.copy(entry, self.root / entry.name)
        (self.root / "wp-config.php").write_text(self._config())
        shutil.copy(HERE / "php" / "router.php", self.root / "router.php")
        content = self.root / "wp-content"
        (content / "plugins").mkdir(parents=True)
        (content / "themes").mkdir()
        for theme in (WORDPRESS / "wp-content" / "themes").iterdir():
            (content / "themes" / theme.name).symlink_to(theme)
        if (WORDPRESS / "wp-content" / "languages").is_dir():  # Debian's wordpress-l10n
            (content / "languages").symlink_to(WORDPRESS / "wp-content" / "languages")
        shutil.copytree(HERE / "php" / "mu-plugins", content / "mu-plugins")
        shutil.copytree(PLUGIN, content / "plugins" / "shopprivacy-consent")
        self.consent_api = consent_api_source(content / "plugins" / "wp-consent-api")
        _sql(f"CREATE DATABASE `{self.database}` CHARACTER SET utf8mb4")
        self._php("install")
        self.configure(options={"shopprivacy_consent_base": base, "blogdescription": "Fresh from the farm"},
                       activate=["wp-consent-api/wp-consent-api.php", PLUGIN_FILE])
        return self

    def configure(self, *, options: dict[str, str] | None = None, activate: list[str] | None = None,
                  deactivate: list[str] | None = None) -> None:
        """Set options, activate and deactivate plugins (by their basename), as an administrator would."""
        self._php("configure", json.dumps({"options": options or {}, "activate": activate or [],
                                           "deactivate": deactivate or []}))

    def _php(self, *args: str) -> str:
        env = {**os.environ, "WP_TEST_HOME": self.origin, "WP_TEST_PASSWORD": self.password}
        done = subprocess.run([PHP, str(HERE / "php" / "install.php"), str(self.root), *args], capture_output=True,
                              text=True, timeout=120, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"install.php {args[0]} failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
        return done.stdout

    def start(self) -> WordPress:
        env = {**os.environ, "PHP_CLI_SERVER_WORKERS": "4"}
        with self.log.open("wb") as log:
            self._server = subprocess.Popen(
                [PHP, "-S", f"{self.host}:{self.port}", "-t", str(self.root), str(self.root / "router.php")],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return self
            except OSError:
                if self._server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"php -S did not start: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self._server is not None and self._server.poll() is None:
            os.killpg(self._server.pid, signal.SIGTERM)  # the server and its workers, started by us
            try:
                self._server.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self._server.pid, signal.SIGKILL)
                self._server.wait(10)
        self._server = None
        try:
            _sql(f"DROP DATABASE IF EXISTS `{self.database}`")
        except (subprocess.CalledProcessError, OSError):
            pass
