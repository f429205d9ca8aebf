from django.db import models


class BaselineLead(models.Model):
    """One row shaped like a posted lead, with no customer, history, routing or scoring."""

    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=128, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    vehicle_year = models.PositiveSmallIntegerField(null=True, blank=True)
    vehicle_make = models.CharField(max_length=50, blank=True)
    vehicle_model = models.CharField(max_length=50, blank=True)
    vehicle_condition = models.CharField(max_length=8, blank=True)
    purchase_horizon = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.source}:{self.external_id}"
