"""The second-factor pages and the API token page."""

import base64

import django_otp
import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from moonvault.accounts import selectors, services
from moonvault.accounts.forms import CodeForm, TokenForm
from moonvault.core.errors import DomainError


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


def _check(request, form):
    """Verify the submitted code; on success the session counts as verified."""
    try:
        device = services.second_factor_check(
            actor=request.user, code=form.cleaned_data["code"], request=request
        )
    except DomainError as exc:
        form.add_error("code", exc.message)
        return None
    django_otp.login(request, device)
    return redirect(_next(request))


@login_required
def second_factor(request):
    if services.second_factor_device(actor=request.user) is None:
        return redirect(f"{reverse('second-factor-enrol')}?{request.GET.urlencode()}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = _check(request, form)
        if done is not None:
            return done
    status = 400 if form.is_bound else 200
    return render(
        request,
        "accounts/second_factor.html",
        {"form": form, "next": _next(request)},
        status=status,
    )


@login_required
def second_factor_enrol(request):
    if services.second_factor_device(actor=request.user) is not None:
        # Enrolling a second authenticator would let a stolen password replace the first.
        return redirect("second-factor")
    device = services.second_factor_enrolment_start(actor=request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = _check(request, form)
        if done is not None:
            return done
    context = {
        "form": form,
        "next": _next(request),
        "qr": segno.make(device.config_url, error="m").svg_data_uri(scale=5),
        "secret": base64.b32encode(device.bin_key).decode(),
    }
    status = 400 if form.is_bound else 200
    return render(request, "accounts/second_factor_enrol.html", context, status=status)


@login_required
def api_tokens(request):
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = services.api_token_create(
                actor=request.user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"]
            )
        except DomainError as exc:
            for problem in exc.problems:
                form.add_error(
                    problem.field if problem.field in form.fields else None, problem.message
                )
        else:
            form = TokenForm()
    status = 400 if form.is_bound and form.errors else 200
    context = {"form": form, "created": created, "tokens": selectors.api_tokens_of(request.user)}
    return render(request, "accounts/api_tokens.html", context, status=status)


@login_required
@require_POST
def api_token_revoke(request, token_id: int):
    try:
        services.api_token_revoke(actor=request.user, token_id=token_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The token is revoked; scripts using it are refused from now on.")
        )
    return redirect("api-tokens")
