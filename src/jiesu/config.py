"""Settings: the only place that reads the environment.

Every setting has a default that works on a fresh machine, a `JIESU_` environment name and a
one-line description; `jiesu settings` prints them and a test checks they are all documented.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    """Runtime configuration of one Jiesu installation."""

    model_config = SettingsConfigDict(env_prefix="JIESU_", extra="ignore")

    env: str = Field("development", description="development | test | production")
    data_dir: Path = Field(
        Path("./jiesu-data"), description="Folder for the SQLite file and other data"
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file jiesu.db in the data dir"
    )
    timezone: str = Field("Asia/Shanghai", description="The city's time zone (IANA name)")
    secret_key: str = Field(DEV_SECRET, description="Secret for signing; must be set in production")
    data_key: str | None = Field(
        None,
        description="Base64 key that encrypts personal data at rest (several: comma-separated, "
        "oldest first; the last encrypts); else the key file",
    )
    data_key_file: Path | None = Field(
        None,
        description="File of data keys, one base64 key a line, oldest first; default "
        "<data dir>/keys/data.key, created (0600) outside production",
    )
    privacy_min_retention: str = Field(
        "1y",
        description="The shortest age `jiesu privacy purge --older-than` accepts (e.g. 1y, 18m)",
    )
    db_pool_size: int = Field(
        10,
        ge=1,
        le=500,
        description="Database connections a server process keeps; on SQLite a fixed pool (none "
        "opened and closed under load), on PostgreSQL as many again may open at peaks",
    )
    log_level: str = Field("INFO", description="DEBUG | INFO | WARNING | ERROR")
    log_json: bool = Field(False, description="Write logs as JSON lines instead of console text")
    max_body_bytes: int = Field(
        2**20,
        ge=1024,
        description="Largest request body accepted (bytes); a larger one is refused with 413 "
        "before it is read",
    )
    max_upload_bytes: int = Field(
        64 * 2**20,
        ge=1024,
        description="Largest body of the admin desk's uploads (city pack .zip, sensors and "
        "catalogue YAML), bytes",
    )
    # Evidence files (decision 0014): every file is also under the upload body ceiling above.
    evidence_max_file_bytes: int = Field(
        10 * 2**20, ge=1024, description="Largest evidence file (photo or PDF) accepted, bytes"
    )
    evidence_max_files: int = Field(
        10, ge=1, le=100, description="Most evidence files on one request"
    )
    evidence_max_pixels: int = Field(
        40_000_000,
        ge=10_000,
        description="Largest photo accepted, in pixels (width × height): larger ones are "
        "refused before decoding (decompression bombs)",
    )
    evidence_store: Literal["local", "s3"] = Field(
        "local", description="Where evidence files are kept: local (data dir) or s3"
    )
    evidence_s3_bucket: str = Field("", description="S3 bucket of evidence files (store s3)")
    evidence_s3_prefix: str = Field("", description="Key prefix inside the bucket")
    evidence_s3_endpoint: str = Field(
        "", description="S3-compatible endpoint URL (MinIO, Ceph …); empty: AWS"
    )
    evidence_s3_region: str = Field("", description="S3 region")
    evidence_s3_access_key: str = Field("", description="S3 access key id")
    evidence_s3_secret_key: str = Field("", description="S3 secret access key")
    # Notifications (decision 0014).
    public_url: str = Field(
        "", description="The portal's public address, for links in messages (e.g. https://…)"
    )
    notify_email_gateway: str = Field(
        "outbox", description="Gateway of citizens' e-mails: outbox | smtp | a plug-in's name"
    )
    notify_sms_gateway: str = Field(
        "outbox", description="Gateway of citizens' SMS: outbox | a plug-in's name"
    )
    notify_staff_gateway: str = Field(
        "outbox", description="Gateway of messages to units and supervisors (desk messages)"
    )
    notify_locale: Literal["zh-CN", "en"] = Field(
        "zh-CN", description="Language of messages: zh-CN or en"
    )
    notify_quiet_hours: str = Field(
        "citizen=21:00-08:00",
        description="Quiet hours by recipient kind (citizen, unit, supervisor), local time, "
        "e.g. citizen=21:00-08:00,unit=23:00-07:00; urgent messages go out anyway",
    )
    notify_max_attempts: int = Field(
        6, ge=1, le=50, description="Tries of one message before it is dead-lettered"
    )
    notify_retry_seconds: int = Field(
        60, ge=1, description="First retry delay (seconds); it doubles with every failure"
    )
    notify_due_soon_hours: float = Field(
        4.0, gt=0, description="Units are told of a request this many hours before it is due"
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server of the smtp gateway")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port")
    smtp_from: str = Field("jiesu@localhost", description="Sender address of e-mails")
    smtp_user: str = Field("", description="SMTP user name (empty: no login)")
    smtp_password: str = Field("", description="SMTP password")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS")
    smtp_timeout: float = Field(10.0, gt=0, description="SMTP connection timeout, seconds")
    mqtt_url: str = Field(
        "mqtt://127.0.0.1:1883",
        description="MQTT broker of sensor alarms: mqtt[s]://[user:password@]host[:port]",
    )
    mqtt_topic: str = Field("jiesu/sensors/#", description="Topic filter the sensor listener reads")
    sensors_in_serve: bool = Field(
        False, description="Run the sensor listener inside `jiesu serve`"
    )
    reports_in_serve: bool = Field(
        True,
        description="Produce the daily, weekly and monthly reports inside `jiesu serve` when due",
    )
    tick_seconds: int = Field(
        60, ge=5, description="How often `jiesu serve` runs the overdue check (seconds)"
    )
    totp_required_roles: str = Field(
        "",
        description="Roles that must sign in with a second factor (TOTP), comma-separated, "
        "e.g. admin,supervisor; their accounts can only enrol one until they have",
    )
    open311_rate_per_minute: int = Field(
        600,
        ge=1,
        description="Open311 calls per minute a client may make: per api_key for posts (unless "
        "the key has its own limit), per address for reads",
    )
    consult_codes_per_minute: int = Field(
        5,
        ge=1,
        description="verification codes for consultations one address may ask for per minute "
        "(each phone also gets at most 3 an hour per consultation)",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like Asia/Shanghai"
            ) from exc
        return value

    @field_validator("totp_required_roles")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        from jiesu.people.models import ROLES  # late: the models need the database layer

        unknown = [r for r in (x.strip() for x in value.split(",")) if r and r not in ROLES]
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)}; roles: {', '.join(ROLES)}")
        return value

    @model_validator(mode="after")
    def _no_placeholder_secret_in_production(self) -> Settings:
        # A production site with the published development secret would accept forged tokens.
        if self.env == "production" and self.secret_key == DEV_SECRET:
            raise ValueError(
                "JIESU_SECRET_KEY must be set to a private value when JIESU_ENV=production"
            )
        return self

    @cached_property
    def second_factor_roles(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.totp_required_roles.split(",") if r.strip())

    @field_validator("privacy_min_retention")
    @classmethod
    def _retention_is_an_age(cls, value: str) -> str:
        from jiesu.errors import BadInput
        from jiesu.privacy.retention import parse_age  # late: keeps this module light

        try:
            parse_age(value, option="JIESU_PRIVACY_MIN_RETENTION")
        except BadInput as exc:
            raise ValueError(exc.message) from None
        return value

    @model_validator(mode="after")
    def _data_key_in_production(self) -> Settings:
        # Production never makes its own key: a key nobody backed up loses every contact.
        key_file = self.data_key_file or self.data_dir / "keys" / "data.key"
        if self.env == "production" and not self.data_key and not key_file.exists():
            raise ValueError(
                "JIESU_ENV=production needs the key that encrypts personal data: set "
                f"JIESU_DATA_KEY, or create {key_file} with `jiesu privacy new-key --file "
                f"{key_file}` (or point JIESU_DATA_KEY_FILE at yours)"
            )
        return self

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jiesu.db').resolve()}"


def get_settings() -> Settings:
    return Settings()
