from django.http import HttpResponse
from django.urls import path


def opportunity(request, pk):
    return HttpResponse(status=501)


urlpatterns = [path("opportunities/<int:pk>/", opportunity, name="opportunity")]
