"""Mass is an integer number of micrograms everywhere; these turn it into and out of text."""

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from moonvault.core.errors import DomainError

MICROGRAMS_PER = {"ug": 1, "µg": 1, "mg": 1_000, "g": 1_000_000, "kg": 1_000_000_000}


def parse_mass(text: str | int | Decimal, unit: str = "g", *, field: str = "mass") -> int:
    """Exact conversion of a decimal quantity to micrograms; refuses anything not a whole µg."""
    try:
        factor = MICROGRAMS_PER[unit]
    except KeyError:
        raise DomainError(
            _("unknown mass unit %(unit)s") % {"unit": repr(unit)}, field=field
        ) from None
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        raise DomainError(
            _("%(text)s is not a number") % {"text": repr(text)}, field=field
        ) from None
    if not value.is_finite():
        raise DomainError(_("%(text)s is not a finite number") % {"text": repr(text)}, field=field)
    # Bounds first: multiplying an exponent like 1e999999999 overflows the decimal context, and
    # 1e-999999999 underflows to a silent zero.
    if value.copy_abs() > Decimal(MAX_MASS_UG) / factor:
        raise DomainError(
            _("%(text)s %(unit)s is implausibly large") % {"text": text, "unit": unit}, field=field
        )
    if value and value.copy_abs() < Decimal(1) / factor:
        raise DomainError(
            _("%(text)s %(unit)s is not a whole number of micrograms")
            % {"text": text, "unit": unit},
            field=field,
        )
    micrograms = value * factor
    if micrograms != micrograms.to_integral_value():
        raise DomainError(
            _("%(text)s %(unit)s is not a whole number of micrograms")
            % {"text": text, "unit": unit},
            field=field,
        )
    return int(micrograms)


def readable_unit(micrograms: int) -> tuple[Decimal, str]:
    """The largest unit in which the amount is at least 1, so 1,731 g reads as 1.731 kg."""
    for unit in ("kg", "g", "mg"):
        factor = MICROGRAMS_PER[unit]
        if abs(micrograms) >= factor:
            return Decimal(micrograms) / factor, unit
    return Decimal(micrograms), "µg"


def format_mass(micrograms: int, *, places: int = 3) -> str:
    value, unit = readable_unit(micrograms)
    text = f"{value:,.{places}f}".rstrip("0").rstrip(".") if unit != "µg" else f"{value:,}"
    return f"{text} {unit}"


# Far above any sample (the Apollo collection is 382 kg) and far below a 64-bit column's limit.
MAX_MASS_UG = 10**15


def check_mass(value, field: str, *, allow_zero: bool = False) -> int:
    """A mass as services accept it: a whole, positive (or zero) number of micrograms."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(_("mass must be a whole number of micrograms"), field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise DomainError(
            _("mass must not be negative") if value < 0 else _("mass must be greater than zero"),
            field=field,
        )
    if value > MAX_MASS_UG:
        raise DomainError(_("mass is implausibly large"), field=field)
    return value


def check_count(
    value, field: str, *, low: int = 0, high: int = 1000, noun: str | None = None
) -> int:
    """A whole number within bounds: units, scores, loads."""
    if noun is None:
        noun = _("a whole number")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DomainError(
            _("%(noun)s from %(low)s to %(high)s") % {"noun": noun, "low": low, "high": high},
            field=field,
        )
    return value
