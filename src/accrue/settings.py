"""Settings from the environment (ACCRUE_ prefix): where the books live and who is acting."""

from __future__ import annotations

import getpass
import secrets
from decimal import Decimal
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACCRUE_")

    data_dir: Path = Path("accrue-data")
    database_url: str | None = None
    actor: str = getpass.getuser()
    # approvals needed by amount (see accrue.domain.approvals): one for any amount, two from
    # 25,000, three from 250,000 — each by someone other than who prepared the item
    approval_levels: str = "0:1,25000:2,250000:3"
    # the levels sales reps climb with the points earned through their distributors in a
    # calendar year: POINTS:NAME, ascending from 0
    rep_levels: str = "0:Associate,500:Bronze,2000:Silver,5000:Gold,10000:Platinum"
    # the payment terms programs are held to on the program-health page: a settlement is paid
    # on time within this many days of its period's end
    payment_terms_days: int = 60
    # who pays, for bank transfer files (ISO 20022 pain.001): no bank file until the name
    # and IBAN are set (the BIC is optional)
    payer_name: str | None = None
    payer_iban: str | None = None
    payer_bic: str | None = None

    # proximity alerts: within this share of the next tier, once per tier per period; by
    # e-mail when an SMTP server is given, and to a webhook signed with HMAC-SHA256; queued in
    # the books' outbox and delivered by the server's worker (or `accrue deliver`), retried
    # with backoff: STARTTLS when `smtp_starttls`, a login when a user name is given
    alert_share: Decimal = Decimal("0.10")
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "accrue@localhost"
    webhook_url: str | None = None
    webhook_secret: str = ""
    # notifications (accrue.domain.notices): funds about to expire are told this many days
    # before their last day (each threshold once); e-mails link to the portal at this address
    fund_expiry_warnings: str = "30,7"
    portal_url: str | None = None
    # seconds the server's delivery worker waits between looks at the outbox when nothing
    # new was queued (a new alert wakes it at once)
    outbox_interval: float = 5.0
    # signs the portal's session cookies; kept in the data folder when not given
    secret_key: str | None = None
    # marks the session cookie Secure (sent over HTTPS only): true, false, or unset for
    # "when the request came over HTTPS" (directly or through a trusted proxy)
    secure_cookies: bool | None = None

    @field_validator("rep_levels")
    @classmethod
    def _levels(cls, text: str) -> str:
        """Refused at start-up, with what to write, rather than on the rep's page."""
        from accrue.domain.recognition import Levels

        Levels.parse(text)
        return text

    @field_validator("database_url")
    @classmethod
    def _normalised(cls, url: str | None) -> str | None:
        """`postgres://` and `postgresql://` mean PostgreSQL through psycopg 3."""
        if url is None:
            return None
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    def session_secret(self) -> str:
        """The configured secret, or one made once and kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "session.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    @property
    def url(self) -> str:
        """The records database: SQLite in the data folder unless a URL is given."""
        return self.database_url or f"sqlite:///{self.data_dir / 'accrue.db'}"
