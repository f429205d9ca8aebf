from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

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
