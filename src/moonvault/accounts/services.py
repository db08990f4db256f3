"""Writes for institutions, people and API tokens."""

import hashlib
import secrets

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from moonvault.accounts.models import ApiToken, Institution, Person, Role
from moonvault.audit.models import AuditEntry
from moonvault.audit.services import audit_record
from moonvault.core.errors import Conflict, DomainError, NotFound
from moonvault.core.identifiers import validate_orcid, validate_ror


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def role_groups_ensure() -> None:
    for role in Role:
        Group.objects.get_or_create(name=role.value)


@transaction.atomic
def institution_create(*, name: str, country: str, ror: str = "", name_zh: str = "") -> Institution:
    country = country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise DomainError(_("country must be a two-letter ISO 3166 code"), field="country")
    if not name.strip():
        raise DomainError(_("name is required"), field="name")
    ror = validate_ror(ror) if ror.strip() else ""
    taken = Institution.objects.filter(ror=ror).exclude(name=name.strip(), country=country)
    if ror and taken.exists():
        raise Conflict(
            _("ROR id %(ror)s belongs to another institution") % {"ror": ror}, field="ror"
        )
    institution, _created = Institution.objects.get_or_create(
        name=name.strip(), country=country, defaults={"ror": ror, "name_zh": name_zh}
    )
    return institution


@transaction.atomic
def person_create(
    *,
    username: str,
    password: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    institution: Institution | None = None,
    roles: tuple[str, ...] = (),
    orcid: str = "",
    expertise: str = "",
) -> Person:
    if User.objects.filter(username=username).exists():
        raise DomainError(
            _("user %(username)s exists already") % {"username": repr(username)}, field="username"
        )
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise DomainError(
            _("unknown role(s): %(unknown)s") % {"unknown": ", ".join(sorted(unknown))},
            field="roles",
        )
    orcid = validate_orcid(orcid) if orcid.strip() else ""
    if orcid and Person.objects.filter(orcid=orcid).exists():
        raise Conflict(
            _("ORCID iD %(orcid)s belongs to another person") % {"orcid": orcid}, field="orcid"
        )
    user = User.objects.create_user(
        username=username,
        password=password,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=bool({Role.CURATOR, Role.ADMINISTRATOR} & set(roles)),
        is_superuser=Role.ADMINISTRATOR in roles,
    )
    role_groups_ensure()
    user.groups.set(Group.objects.filter(name__in=roles))
    return Person.objects.create(
        user=user, institution=institution, orcid=orcid, expertise=expertise
    )


def api_token_create(*, actor: User, name: str, scope: str = ApiToken.Scope.READ) -> str:
    """Returns the raw token once; only its digest is stored."""
    if scope not in ApiToken.Scope.values:
        raise DomainError(
            _("scope must be one of %(values)s") % {"values": ", ".join(ApiToken.Scope.values)},
            field="scope",
        )
    if not name.strip():
        raise DomainError(_("a token needs a name"), field="name")
    raw = "mv_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=actor, name=name.strip(), digest=token_digest(raw), prefix=raw[:8], scope=scope
    )
    return raw


def api_token_revoke(*, actor: User, token_id: int) -> None:
    updated = ApiToken.objects.filter(id=token_id, user=actor, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    if not updated:
        raise NotFound(_("no such active token"), field="token_id")


def second_factor_device(*, actor: User) -> TOTPDevice | None:
    """The person's confirmed authenticator, if they have enrolled one."""
    return TOTPDevice.objects.filter(user=actor, confirmed=True).first()


@transaction.atomic
def second_factor_enrolment_start(*, actor: User) -> TOTPDevice:
    """The unconfirmed authenticator to show as a QR code; the same one until it is confirmed."""
    if second_factor_device(actor=actor) is not None:
        raise Conflict(_("an authenticator is enrolled already; ask an administrator to reset it"))
    device = TOTPDevice.objects.filter(user=actor, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=actor, name="authenticator", confirmed=False)


def second_factor_check(*, actor: User, code: str, request=None) -> TOTPDevice:
    """Check a TOTP code against the person's authenticator, confirming it on first use.

    Not one transaction on purpose: a wrong code must leave its trace (the device's throttling
    counter, which doubles the wait after each failure, and the audit entry) when it is refused.
    """
    device = second_factor_device(actor=actor)
    enrolling = device is None
    if enrolling:
        device = TOTPDevice.objects.filter(user=actor, confirmed=False).first()
        if device is None:
            raise NotFound(_("start the enrolment first"), field="code")
    if not device.verify_token(code):
        audit_record(
            kind=AuditEntry.Kind.SECOND_FACTOR,
            actor=actor,
            summary="wrong second-factor code",
            request=request,
        )
        raise DomainError(
            _("that code is not valid; wait for the next one and try again"), field="code"
        )
    with transaction.atomic():
        if enrolling:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        audit_record(
            kind=AuditEntry.Kind.SECOND_FACTOR,
            actor=actor,
            summary="authenticator enrolled" if enrolling else "second factor confirmed",
            request=request,
        )
    return device
