"""Placeholder: the service KPIs in the API are being built."""

urlpatterns = []
