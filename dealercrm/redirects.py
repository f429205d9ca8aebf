"""Where a plain POST sends the browser back to."""

from django.utils.http import url_has_allowed_host_and_scheme


def next_url(request, default):
    """The page the form came from (`next`), when it is a page of this site; else `default`.
    Checked so that a crafted link cannot send a signed-in person to another site."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default
