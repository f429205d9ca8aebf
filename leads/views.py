import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.decorators import ratelimit

from leads.forms import WebsiteLeadForm
from leads.intake import lead_intake
from leads.models import LeadSource
from leads.selectors import lead_detail_for_user, lead_list_for_user

LEADS_PER_PAGE = 50


@login_required
def lead_list(request):
    page = Paginator(lead_list_for_user(request.user), LEADS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "leads/lead_list.html", {"page": page})


@login_required
def lead_detail(request, pk):
    lead = lead_detail_for_user(request.user, pk)
    return render(request, "leads/lead_detail.html", {"lead": lead})


# Anyone on the internet may post the hosted form, so each address gets a handful of tries.
WEB_FORM_RATE = "10/m"


# Embeddable in the dealer's site (an iframe), and exempt from CSRF: there is no session to
# ride on, and a third-party iframe does not get our cookies anyway. The honeypot and the rate
# limit keep bots out instead.
@csrf_exempt
@xframe_options_exempt
@ratelimit(key="ip", rate=WEB_FORM_RATE, method="POST", block=False)
def web_form(request, key):
    source = get_object_or_404(LeadSource, key=key, active=True, form_enabled=True)
    if getattr(request, "limited", False):
        return render(
            request, "leads/web_form.html", {"source": source, "limited": True}, status=429
        )
    if request.method == "POST":
        form = WebsiteLeadForm(request.POST)
        if form.is_valid():
            fields = {
                name: value for name, value in request.POST.items() if name != "csrfmiddlewaretoken"
            }
            lead_intake(form.submission(source, json.dumps(fields, ensure_ascii=False)))
            return redirect(f"{request.path}?sent=1")
    else:
        form = WebsiteLeadForm(initial={"visitor_id": request.GET.get("visitor_id", "")})
    return render(
        request,
        "leads/web_form.html",
        {"source": source, "form": form, "sent": request.GET.get("sent") == "1"},
    )
